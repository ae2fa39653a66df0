"""The memory tools: store, recall, get, list, count, update, delete and secret_get, each one
request to memoryd's REST API (memory_core.wire.rest). Names and parameters are the original
claude-memory-mcp's."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from mcp_shim import compact, render
from mcp_shim.tool_base import Id, ShimContext, ShimState, result, state_of
from memory_core.model import CATEGORIES
from memory_core.wire import rest

_CATEGORY_HELP = "One of: " + ", ".join(CATEGORIES) + "."


def add_memory_tools(server: MCPServer[ShimState]) -> None:
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
        state = state_of(ctx)
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
        return result(out, render.stored(out))

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
        state = state_of(ctx)
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
            return result(out, render.recalled(out, context, sort_by))
        short = compact.compact(out, state.clock.now_ms())
        return result(short, render.recalled_compact(short, context))

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
        out = await state_of(ctx).require().request("POST", "/api/memories/get", json={"ids": ids})
        return result(out, render.got(out))

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
        out = await state_of(ctx).require().request("GET", "/api/memories", params=params)
        return result(out, render.listed(out))

    @server.tool(title="Count memories", annotations=reads)
    async def memory_count(ctx: ShimContext) -> Annotated[CallToolResult, rest.StatsOut]:
        """How many memories are stored, by category, project and source."""
        out = await state_of(ctx).require().request("GET", "/api/stats")
        return result(out, render.counted(out))

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
        out = await state_of(ctx).require().request("PUT", f"/api/memories/{id}", json=patch)
        return result(out, render.updated(out))

    @server.tool(
        title="Delete a memory",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def memory_delete(id: Id, ctx: ShimContext) -> Annotated[CallToolResult, rest.DeletedOut]:
        """Delete a memory for good. Only when the user asks to forget it or it is wrong and
        cannot be corrected with memory_update."""
        out = await state_of(ctx).require().request("DELETE", f"/api/memories/{id}")
        return result(out, render.deleted(out))

    @server.tool(title="Read a secret memory", annotations=reads)
    async def secret_get(id: Id, ctx: ShimContext) -> Annotated[CallToolResult, rest.SecretOut]:
        """The decrypted content of a sensitive memory (shown elsewhere as a placeholder).
        Only when the user needs the value now; do not repeat it needlessly."""
        out = await state_of(ctx).require().request("POST", f"/api/memories/{id}/secret")
        return result(out, render.secret(out))
