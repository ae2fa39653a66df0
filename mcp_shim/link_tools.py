"""The link tools: memory_link, memory_unlink and memory_links, each one request to memoryd's
link routes (memory_core.wire.links)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from mcp_shim.tool_base import Id, ShimContext, ShimState, result, state_of
from memory_core.wire import links as wire

LinkType = Annotated[
    Literal["part-of", "supersedes", "see-also", "resolved-by"],
    Field(
        description="part-of: this memory is a part or detail of the target; supersedes: it "
        "replaces the target (kept as history, never shown above this one); see-also: "
        "related; resolved-by: this problem was resolved by the target."
    ),
]
Target = Annotated[Id, Field(description="The other memory's id (UUID or short integer id).")]


def _line(out: dict[str, Any], verb: str) -> str:
    return f"{verb} {out['src_id']} -{out['link_type']}-> {out['dst_id']}."


def _listed(out: dict[str, Any]) -> str:
    lines = [f"Links of {out['id']}:"]
    lines += [f"  -{link['type']}-> {link['id']}" for link in out["links_out"]]
    lines += [f"  <-{link['type']}- {link['id']}" for link in out["links_in"]]
    return "\n".join(lines) if len(lines) > 1 else f"Memory {out['id']} has no links."


def add_link_tools(server: MCPServer[ShimState]) -> None:
    writes = ToolAnnotations(
        read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
    )

    @server.tool(title="Link two memories", annotations=writes)
    async def memory_link(
        id: Id, target_id: Target, link_type: LinkType, ctx: ShimContext
    ) -> Annotated[CallToolResult, wire.LinkOut]:
        """Link memory `id` to memory `target_id` with a type. Use supersedes when `id`
        replaces an outdated memory; part-of to group details under an overview."""
        body = {"target_id": target_id, "link_type": link_type}
        link = state_of(ctx).require()
        out = await link.request("POST", f"/api/memories/{id}/links", write=True, json=body)
        return result(out, _line(out, "Linked"))

    @server.tool(
        title="Unlink two memories",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def memory_unlink(
        id: Id, target_id: Target, link_type: LinkType, ctx: ShimContext
    ) -> Annotated[CallToolResult, wire.UnlinkOut]:
        """Remove the link of type `link_type` from memory `id` to memory `target_id`."""
        path = f"/api/memories/{id}/links/{target_id}/{link_type}"
        out = await state_of(ctx).require().request("DELETE", path, write=True)
        return result(out, _line(out["unlinked"], "Unlinked"))

    @server.tool(
        title="Show a memory's links",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
    async def memory_links(id: Id, ctx: ShimContext) -> Annotated[CallToolResult, wire.LinksOut]:
        """The typed links of memory `id`: to the memories it links to, and from those that
        link to it."""
        out = await state_of(ctx).require().request("GET", f"/api/memories/{id}/links")
        return result(out, _listed(out))
