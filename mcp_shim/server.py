"""The MCP server: the memory tools, the link tools (`link_tools`) and six sharing tools
(mcp_shim.sharing), each one request to memoryd.

`create_server` is the app factory; its lifespan owns the one HTTP client to the daemon (and
starts the daemon in the background if it is not running, so the first tool call does not
wait for it). Tool names and parameters are the original claude-memory-mcp's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic_core import PydanticCustomError

from mcp_shim import compact, render
from mcp_shim.autostart import DaemonUnavailable
from mcp_shim.framing import screened_stdio
from mcp_shim.link import DaemonLink
from memory_core.clock import Clock, SystemClock
from memory_core.model import CATEGORIES
from memory_core.version import __version__
from memory_core.wire import rest

log = logging.getLogger("mcp_shim")

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

_CATEGORY_HELP = "One of: " + ", ".join(CATEGORIES) + "."


def _id_text(value: object) -> object:
    """A short integer id sent as a JSON number (the original's tools declare ids as
    integers) is taken as its text; `true` is not memory 1."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _memory_id(value: str) -> str:
    """An id fit for a URL path (the daemon checks the rest). A control character used to
    fail the call with a bare "Error executing tool" (httpx refuses it in a URL): it is now an
    argument error naming `id`, like any other."""
    text = value.strip()
    if not text or text in (".", "..") or any(c in "/?#%" or not c.isprintable() for c in text):
        raise PydanticCustomError(
            "memory_id",
            "{value} is not a memory id (a UUID or a unique prefix of it, or a short integer "
            "id, as recall shows)",
            {"value": repr(value)},
        )
    return text


Id = Annotated[
    str,
    Field(
        description="The memory's id as recall shows it: a UUID (or a unique prefix of it) "
        "or its short integer id.",
        min_length=1,
        max_length=64,
    ),
    BeforeValidator(_id_text),
    AfterValidator(_memory_id),
]


@dataclass
class ShimState:
    """What the lifespan owns: the daemon link, or why there is none."""

    link: DaemonLink | None
    project: str | None
    config_error: str | None = None
    clock: Clock = field(default_factory=SystemClock)  # for the ages recall shows

    def require(self) -> DaemonLink:
        if self.link is None:
            raise ToolError(f"memory is not configured: {self.config_error}")
        return self.link


ShimContext = Context[ShimState, Any]


def _result(structured: dict[str, Any], text: str) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=structured
    )


def _state(ctx: ShimContext) -> ShimState:
    state: ShimState = ctx.request_context.lifespan_context
    return state


def _warm_up(link: DaemonLink) -> None:
    try:
        link_health = link.ensure_blocking()
        log.info("memoryd answering (pid %s)", link_health.get("pid"))
    except DaemonUnavailable as exc:
        log.warning("%s", exc)


class ShimServer(MCPServer[ShimState]):
    """MCPServer, with argument errors told in one line the model can act on."""

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
        """Serve over stdio, answering request lines the SDK's transport would drop unread."""
        async with screened_stdio() as (read_stream, write_stream):
            await self._lowlevel_server.run(
                read_stream, write_stream, self._lowlevel_server.create_initialization_options()
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
        try:
            yield state
        finally:
            if state.link is not None:
                await state.link.aclose()

    server = ShimServer(
        "memoryd",
        title="memoryd",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
    )
    _add_tools(server)
    # Imported here: mcp_shim.sharing builds on this module's types.
    from mcp_shim.sharing import add_sharing_tools

    add_sharing_tools(server)
    return server


def _add_tools(server: MCPServer[ShimState]) -> None:
    writes = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
    reads = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(title="Store a memory", annotations=writes)
    async def memory_store(
        content: Annotated[
            str,
            Field(
                description="The memory: one self-contained fact, preference or decision "
                "(about 1,400 characters at most; split longer text)."
            ),
        ],
        expanded_keywords: Annotated[
            str,
            Field(
                description="At least 5 extra search words not in the content: synonyms, "
                "related tools, broader topics, likely future phrasings."
            ),
        ],
        ctx: ShimContext,
        category: Annotated[str, Field(description=_CATEGORY_HELP)] = "facts",
        tags: Annotated[
            list[str] | str,
            Field(description="Short labels, as a list or a comma-separated string."),
        ] = "",
        importance: Annotated[
            float, Field(ge=0.0, le=1.0, description="0 to 1; 0.8+ for firm rules.")
        ] = 0.5,
        force_sensitive: Annotated[
            bool,
            Field(description="Encrypt it even if no secret is detected (keys, passwords)."),
        ] = False,
        project: Annotated[
            str | None,
            Field(description="Project it belongs to; defaults to the current project."),
        ] = None,
        supersedes: Annotated[
            str | None,
            Field(
                description="Id of an older memory this one replaces (a changed decision or "
                "preference): the old one is kept as history but never shown above this one.",
                max_length=64,
            ),
        ] = None,
    ) -> Annotated[CallToolResult, rest.StoredOut]:
        """Save a memory for future sessions. Use when the user says "remember", states a
        preference, makes a decision or corrects you. When it replaces a memory that is no
        longer true, pass that memory's id as `supersedes`. Returns the new memory's id."""
        state = _state(ctx)
        out = await state.require().request(
            "POST",
            "/api/memories",
            write=True,
            json={
                "content": content,
                "category": category,
                "tags": tags,
                "expanded_keywords": expanded_keywords,
                "importance": importance,
                "force_sensitive": force_sensitive,
                "project": project or state.project,
                "source": "manual",
                "supersedes": supersedes,
            },
        )
        return _result(out, render.stored(out))

    @server.tool(title="Recall memories", annotations=reads)
    async def memory_recall(
        context: Annotated[str, Field(description="What you need to know, in the user's words.")],
        expanded_query: Annotated[
            str,
            Field(
                description="At least 5 extra words: synonyms, related technologies and "
                "broader topics, so differently-worded memories match."
            ),
        ],
        ctx: ShimContext,
        category: Annotated[
            str | None, Field(description="Only this category. " + _CATEGORY_HELP)
        ] = None,
        sort_by: Annotated[
            Literal["relevance", "importance", "recency"],
            Field(description="Order of results."),
        ] = "relevance",
        limit: Annotated[int, Field(ge=1, le=100, description="Most results to return.")] = 10,
        detail: Annotated[
            Literal["compact", "full"],
            Field(description="compact: id and a one-line preview each; full: whole texts."),
        ] = "compact",
    ) -> Annotated[CallToolResult, compact.RecallAnswer]:
        """Search long-term memory for preferences, decisions, facts and people relevant to
        the task; the current project's memories rank first. Answers one-line previews: read
        the full texts of those you need with memory_get."""
        state = _state(ctx)
        out = await state.require().request(
            "POST",
            "/api/memories/recall",
            json={
                "context": context,
                "expanded_query": expanded_query,
                "category": category,
                "project": state.project,
                "sort_by": sort_by,
                "limit": limit,
            },
        )
        if detail == "full":
            return _result(out, render.recalled(out, context, sort_by))
        short = compact.compact(out, state.clock.now_ms())
        return _result(short, render.recalled_compact(short, context))

    @server.tool(title="Read memories in full", annotations=reads)
    async def memory_get(
        ids: Annotated[
            list[Id],
            Field(min_length=1, max_length=100, description="Ids from memory_recall's results."),
        ],
        ctx: ShimContext,
    ) -> Annotated[CallToolResult, rest.GetManyOut]:
        """The full texts of the memories with these ids (as memory_recall lists them). Ids
        that name no memory are reported as not found."""
        out = await _state(ctx).require().request("POST", "/api/memories/get", json={"ids": ids})
        return _result(out, render.got(out))

    @server.tool(title="List memories", annotations=reads)
    async def memory_list(
        ctx: ShimContext,
        category: Annotated[
            str | None, Field(description="Only this category. " + _CATEGORY_HELP)
        ] = None,
        limit: Annotated[int, Field(ge=1, le=500, description="Most memories to return.")] = 20,
    ) -> Annotated[CallToolResult, rest.ListOut]:
        """List the most recently stored memories, newest first."""
        params: dict[str, str | int] = {"limit": limit}
        if category:
            params["category"] = category
        out = await _state(ctx).require().request("GET", "/api/memories", params=params)
        return _result(out, render.listed(out))

    @server.tool(title="Count memories", annotations=reads)
    async def memory_count(ctx: ShimContext) -> Annotated[CallToolResult, rest.StatsOut]:
        """How many memories are stored, by category, project and source."""
        out = await _state(ctx).require().request("GET", "/api/stats")
        return _result(out, render.counted(out))

    @server.tool(
        title="Update a memory",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def memory_update(
        id: Id,
        ctx: ShimContext,
        content: Annotated[str | None, Field(description="New content, replacing the old.")] = None,
        category: Annotated[str | None, Field(description=_CATEGORY_HELP)] = None,
        tags: Annotated[
            list[str] | str | None, Field(description="New tags, replacing the old.")
        ] = None,
        importance: Annotated[float | None, Field(ge=0.0, le=1.0)] = None,
        expanded_keywords: Annotated[
            str | None, Field(description="New search words, replacing the old.")
        ] = None,
    ) -> Annotated[CallToolResult, rest.UpdatedOut]:
        """Correct or refine an existing memory in place (only the fields given change).
        Prefer this over storing a new memory that contradicts an old one."""
        patch = {
            key: value
            for key, value in {
                "content": content,
                "category": category,
                "tags": tags,
                "importance": importance,
                "expanded_keywords": expanded_keywords,
            }.items()
            if value is not None
        }
        if not patch:
            raise ToolError(
                "nothing to update: give at least one of content, category, tags, importance, "
                "expanded_keywords"
            )
        out = await _state(ctx).require().request("PUT", f"/api/memories/{id}", json=patch)
        return _result(out, render.updated(out))

    @server.tool(
        title="Delete a memory",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def memory_delete(id: Id, ctx: ShimContext) -> Annotated[CallToolResult, rest.DeletedOut]:
        """Delete a memory for good. Only when the user asks to forget it or it is wrong and
        cannot be corrected with memory_update."""
        out = await _state(ctx).require().request("DELETE", f"/api/memories/{id}")
        return _result(out, render.deleted(out))

    @server.tool(title="Read a secret memory", annotations=reads)
    async def secret_get(id: Id, ctx: ShimContext) -> Annotated[CallToolResult, rest.SecretOut]:
        """The decrypted content of a sensitive memory (shown elsewhere as a placeholder).
        Only when the user needs the value now; do not repeat it needlessly."""
        out = await _state(ctx).require().request("POST", f"/api/memories/{id}/secret")
        return _result(out, render.secret(out))

    # Imported here, not at the top: the link tools share this module's tool helpers.
    from mcp_shim.link_tools import add_link_tools

    add_link_tools(server)
