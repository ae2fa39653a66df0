"""memory_prompt_context, the plugin's prompt hook as Claude Code's `mcp_tool` hook calls it:
a real MCP client over stdio, a real shim, a real daemon."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import TextContent

from tests import support
from tests.shim.helpers import daemon_pids, shim
from tests.support import Daemon

TOOL = "memory_prompt_context"


async def hook_text(client: Client, prompt: str, session_id: str, cwd: str) -> str:
    """The tool's one text, as Claude Code reads it; never an error result."""
    result = await client.call_tool(TOOL, {"prompt": prompt, "session_id": session_id, "cwd": cwd})
    assert not result.is_error, result.content
    assert result.structured_content is None
    [block] = result.content
    assert isinstance(block, TextContent)
    return block.text


def context_of(text: str) -> str:
    answer: dict[str, Any] = json.loads(text)
    if answer == {}:
        return ""
    assert list(answer) == ["hookSpecificOutput"]
    output = answer["hookSpecificOutput"]
    assert sorted(output) == ["additionalContext", "hookEventName"]
    assert output["hookEventName"] == "UserPromptSubmit"
    return str(output["additionalContext"])


def store(daemon: Daemon, content: str, **fields: object) -> str:
    return support.store(daemon.client(), content, **fields)


async def test_it_answers_hook_json_once_per_session_like_the_command_hook(
    daemon: Daemon, project_dir: Path
) -> None:
    nuxt = store(
        daemon,
        "The user prefers Vue with Nuxt for new frontend dashboards",
        category="preferences",
        expanded_keywords="javascript framework ui frontend",
    )
    store(daemon, "Invoices are rendered to PDF with Typst")
    cwd = str(project_dir / "src")
    prompt = "build me a frontend dashboard for the orders"
    async with shim(daemon.home, MEMORY_HOOK_TIMEOUT="4") as client:
        first = context_of(await hook_text(client, prompt, "s-tool", cwd))
        assert "Nuxt" in first and f"(id {nuxt}" in first and "[preferences]" in first
        assert "Typst" not in first
        # The session was shown it: the next prompt on the same topic adds nothing.
        assert await hook_text(client, prompt + " again", "s-tool", cwd) == "{}"
        # Another session has not seen it.
        assert "Nuxt" in context_of(await hook_text(client, prompt, "s-other", cwd))
        # Small talk: nothing.
        assert await hook_text(client, "thanks, that worked!", "s-tool", cwd) == "{}"


async def test_the_budget_is_the_hooks_setting(daemon: Daemon, project_dir: Path) -> None:
    for n in range(6):
        store(daemon, f"Kubernetes deploy rule {n}: " + "the helm chart values matter " * 12)
    prompt = "how do we deploy the helm chart to kubernetes"
    cwd = str(project_dir)
    async with shim(daemon.home, MEMORY_HOOK_TIMEOUT="4") as client:
        full = context_of(await hook_text(client, prompt, "s-wide", cwd))
    async with shim(daemon.home, MEMORY_HOOK_TIMEOUT="4", MEMORY_HOOK_BUDGET="600") as client:
        small = context_of(await hook_text(client, prompt, "s-narrow", cwd))
    assert len(full) > 600 >= len(small) > 0


async def test_it_fails_open_with_the_daemon_gone(daemon: Daemon, project_dir: Path) -> None:
    store(daemon, "The user prefers Svelte with SvelteKit for new frontend dashboards")
    prompt = "build me a frontend dashboard for the orders"
    async with shim(daemon.home) as client:
        daemon.stop()
        assert await hook_text(client, prompt, "s-gone", str(project_dir)) == "{}"
        # Nor did the hook start a daemon: a prompt never waits for one.
        assert daemon_pids(daemon.home) == []


async def test_bad_input_answers_nothing(daemon: Daemon, project_dir: Path) -> None:
    async with shim(daemon.home) as client:
        assert await hook_text(client, "build a dashboard", "", str(project_dir)) == "{}"
        assert await hook_text(client, "build a dashboard", "x" * 201, "") == "{}"
        result = await client.call_tool(TOOL, {})
        assert not result.is_error and result.content[0].text == "{}"  # type: ignore[union-attr]
