"""The seven MCP tools through a real MCP client over stdio (the shim as Claude Code runs it,
in front of a real daemon), with hostile arguments: every call answers a result or an `isError`
result that says what was wrong, never a protocol error, never a traceback; a refused call
stores nothing; and the shim answers the next call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import given
from hypothesis import strategies as st
from mcp import Client
from mcp.types import CallToolResult, TextContent, Tool

from tests.adversarial.daemons import LoggedDaemon, logged_daemon
from tests.adversarial.fuzz import FUZZ_SETTINGS
from tests.adversarial.hostile import Raw, json_values
from tests.adversarial.probes import example_of
from tests.shim.helpers import shim
from tests.shim.test_tools import TOOLS

# What a client library can put in a tool call's arguments (the Python SDK cannot write a
# lone surrogate, an integer over 4,300 digits or 1e400: test_mcp_frames sends those raw).
KINDS = ("text", "nul", "number", "type", "nested", "shape")


@dataclass
class Session:
    portal: BlockingPortal
    client: Client
    tools: dict[str, Tool]
    daemon: LoggedDaemon
    rest: httpx.Client
    memory_id: str

    def call(self, name: str, arguments: Any) -> CallToolResult:
        result: CallToolResult = self.portal.call(
            partial(self.client.call_tool, name, arguments, read_timeout_seconds=20)
        )
        return result

    def snapshot(self) -> str:
        export = self.rest.get("/api/memories/export", params={"include_sensitive": "1"})
        assert export.status_code == 200, export.text
        return export.text


@pytest.fixture(scope="module")
def session() -> Iterator[Session]:
    with (
        logged_daemon() as daemon,
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(shim(daemon.home)) as client,
    ):
        rest = daemon.client()
        stored = rest.post("/api/memories", json={"content": "The staging cluster is eu-west-1"})
        tools = {tool.name: tool for tool in portal.call(client.list_tools).tools}
        yield Session(portal, client, tools, daemon, rest, stored.json()["id"])


def valid_arguments(tool: Tool, memory_id: str) -> dict[str, Any]:
    schema = tool.input_schema
    found = example_of(schema, schema.get("$defs", {}))
    arguments: dict[str, Any] = found if isinstance(found, dict) else {}
    if "id" in arguments:
        arguments["id"] = memory_id
    return arguments


def _sendable(value: Any) -> bool:
    return not isinstance(value, Raw)


def hostile_arguments(base: dict[str, Any], kind: str) -> st.SearchStrategy[Any]:
    names = sorted(base)
    if kind == "shape":
        dropped = [
            {k: v for k, v in base.items() if k != name} for name in names
        ]  # a required argument missing
        extra = st.builds(
            lambda name, value: {**base, name: value},
            st.sampled_from(("", "__proto__", "ctx", "content ", "a" * 1000, "\x00")),
            json_values("type"),
        )
        return st.sampled_from([*dropped, {}]) | extra if dropped else extra
    values = json_values(kind).filter(_sendable)
    if not names:  # memory_count: an argument it does not take
        return st.builds(lambda value: {"unasked": value}, values)
    return st.builds(lambda name, value: {**base, name: value}, st.sampled_from(names), values)


def _text(result: CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(TOOLS))
def test_hostile_arguments_get_a_result_or_a_tool_error(
    session: Session, name: str, kind: str
) -> None:
    assert set(session.tools) == set(TOOLS)
    base = valid_arguments(session.tools[name], session.memory_id)
    state = {"before": session.snapshot()}

    @FUZZ_SETTINGS
    @given(hostile_arguments(base, kind))
    def attack(arguments: Any) -> None:
        shown = json.dumps(arguments, default=repr)[:300]
        result = session.call(name, arguments)  # an MCP protocol error raises here
        text = _text(result)
        assert "Traceback" not in text, f"{name}({shown}) -> {text[:500]}"
        if result.is_error:
            assert text.strip(), f"{name}({shown}): an error that says nothing"
            after = session.snapshot()
            assert after == state["before"], f"{name}({shown}) was refused but changed data"
        elif session.tools[name].output_schema is None:  # the prompt hook's: hook JSON text
            answer = json.loads(text)
            assert answer == {} or list(answer) == ["hookSpecificOutput"], f"{name}({shown})"
            state["before"] = session.snapshot()
        else:
            assert result.structured_content is not None, f"{name}({shown}) -> {text[:300]}"
            state["before"] = session.snapshot()
        count = session.call("memory_count", {})
        assert not count.is_error and count.structured_content is not None, _text(count)

    attack()
