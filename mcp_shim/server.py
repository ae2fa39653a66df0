"""The MCP server: the memory tools (`memory_tools`), the link tools (`link_tools`), six
sharing tools (`sharing`) and the prompt hook's tool (`prompt_hook`), each one request to
memoryd; what they share is in `tool_base`.

`create_server` is the app factory; its lifespan owns the one HTTP client to the daemon (and
starts the daemon in the background if it is not running, so the first tool call does not
wait for it). Tool names and parameters are the original claude-memory-mcp's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.request_state import RequestStateBoundary
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import ValidationError

from mcp_shim.autostart import DaemonUnavailable
from mcp_shim.fast_prompt import FastPrompts
from mcp_shim.link import DaemonLink
from mcp_shim.link_tools import add_link_tools
from mcp_shim.memory_tools import add_memory_tools
from mcp_shim.prompt_hook import PROMPT_TOOL, add_prompt_hook_tool
from mcp_shim.sharing import add_sharing_tools
from mcp_shim.stdio import shim_stdio
from mcp_shim.tool_base import ShimContext, ShimState
from memory_core.model import CATEGORIES
from memory_core.version import __version__

__all__ = ["INSTRUCTIONS", "ShimServer", "ShimState", "argument_problems", "create_server"]

log = logging.getLogger("mcp_shim")

OTEL_MIDDLEWARE = "OpenTelemetryMiddleware"  # not exported by the SDK: known by its name

INSTRUCTIONS = f"""\
Long-term memory that persists across sessions, projects and machines.
RECALL with memory_recall before answering anything that may depend on the user's earlier \
preferences, decisions, people, project facts or past conversations ("what did we decide", \
"as before", "my usual setup"), and before choosing a framework, tool or style for them. \
It answers one-line previews; read the ones you need in full with memory_get (several ids \
at once).
STORE with memory_store when the user says "remember", states a preference, makes a decision, \
corrects you, or shares a durable fact about a project or person. Do not store transient task \
details, code you can re-read, or anything only true for this conversation.
Write each memory self-contained: one fact, preference or decision, understandable with no \
surrounding conversation (name the project, person or tool; no "it"/"this"). Keep it under \
about 1,400 characters; split longer content into several self-contained memories.
expanded_keywords (store) and expanded_query (recall): at least 5 extra words that the \
words in the content or question do not already contain: synonyms, related technologies, \
broader topics, likely future phrasings. They are what lets a later differently-worded \
question find the memory.
Categories: {", ".join(CATEGORIES)}.
Content flagged sensitive (keys, passwords, tokens) is stored encrypted and shown as a \
placeholder; read it with secret_get only when the user needs the value.
Ids are UUIDs (any unique prefix of 8+ characters works) or the short number recall shows \
as #42. memory_update corrects a memory in place; when a decision or preference changed, \
store the new one with `supersedes` set to the old one's id instead of storing a \
contradicting duplicate. memory_link relates two memories (part-of, see-also, resolved-by).
"""


def _warm_up(link: DaemonLink) -> None:
    try:
        link_health = link.ensure_blocking()
        log.info("memoryd answering (pid %s)", link_health.get("pid"))
    except DaemonUnavailable as exc:
        log.warning("%s", exc)


class ShimServer(MCPServer[ShimState]):
    """MCPServer, with argument errors told in one line the model can act on, served over the
    shim's own stdio transport with its fast path for the prompt hook's calls."""

    session_state: ShimState | None = None  # the lifespan's, while a session runs

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: ShimContext | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(
                    f"invalid arguments for {name}: {argument_problems(exc.__cause__)}"
                ) from exc.__cause__
            raise

    async def run_stdio_async(self) -> None:
        """Serve over stdio through the shim's own transport (mcp_shim/stdio.py): lines read
        and written on the event loop, and request lines the SDK's would drop answered."""
        lowlevel = self._lowlevel_server
        fast = (
            FastPrompts(lambda: self.session_state, lowlevel.server_info_stamp)
            if self._fast_path_allowed()
            else None
        )
        async with shim_stdio(fast) as (read_stream, write_stream):
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())

    def _fast_path_allowed(self) -> bool:
        """The fast path (fast_prompt.py) answers without the SDK's middleware: only while
        every middleware is one known to let such a call through untouched (the SDK's
        RequestStateBoundary acts on a `requestState` parameter, which the fast path never
        takes). A middleware added to the shim turns it off, as does a cache hint for
        tools/call (the SDK would add it to the result)."""
        return (
            self._tool_manager.get_tool(PROMPT_TOOL) is not None
            and "tools/call" not in self._lowlevel_server.cache_hints
            and all(type(middleware) is RequestStateBoundary for middleware in self.middleware)
        )


def argument_problems(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        if error["type"] == "missing":
            problems.append(f"missing required argument {where!r}")
        else:
            problems.append(f"{where!r}: {error['msg']}")
    return "; ".join(problems)


def create_server(make_state: Callable[[], ShimState]) -> MCPServer[ShimState]:
    """The shim's MCP server. `make_state` runs when the session starts (in the lifespan)."""

    @asynccontextmanager
    async def lifespan(_server: MCPServer[ShimState]) -> AsyncIterator[ShimState]:
        state = make_state()
        if state.link is not None:
            threading.Thread(
                target=_warm_up, args=(state.link,), name="memoryd-warm-up", daemon=True
            ).start()
        server.session_state = state  # for the transport's fast path
        try:
            yield state
        finally:
            server.session_state = None
            if state.prompt_connection is not None:
                state.prompt_connection.close()
            if state.link is not None:
                await state.link.aclose()

    server = ShimServer(
        "memoryd",
        title="memoryd",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
    )
    add_memory_tools(server)
    add_link_tools(server)
    add_sharing_tools(server)
    add_prompt_hook_tool(server)
    # The SDK's OpenTelemetry middleware opens a span per message, ~35 us of CPU per tool call
    # (bench/shim_cpu.py), and nothing in the shim's process ever exports one: dropped, as the
    # SDK says to opt out (its comment on `Server.middleware`).
    server.middleware[:] = [m for m in server.middleware if type(m).__name__ != OTEL_MIDDLEWARE]
    return server
