"""Handlers for a memory's typed links (memory_core.links; shapes in memory_core.wire.links):
link, unlink, and read them. The store does the work, locally or on the hub."""

from __future__ import annotations

from starlette.requests import Request

from memory_core.http.routing import endpoint
from memory_core.wire import links as wire
from memoryd.api.components import components
from memoryd.store.records import Link


def _out(found: Link) -> wire.LinkOut:
    return wire.LinkOut(src_id=found.src, dst_id=found.dst, link_type=found.link_type)


async def link(request: Request, body: wire.LinkIn) -> wire.LinkOut:
    """Link this memory to another (part-of, supersedes, see-also, resolved-by)."""
    store = components(request).store
    return _out(await store.link(request.path_params["id"], body.link_type, body.target()))


async def unlink(request: Request) -> wire.UnlinkOut:
    """Remove one link of this memory."""
    params = request.path_params
    found = await components(request).store.unlink(params["id"], params["dst"], params["type"])
    return wire.UnlinkOut(unlinked=_out(found))


async def links_of(request: Request) -> wire.LinksOut:
    """This memory's links, out and in."""
    found = await components(request).store.links_of(request.path_params["id"])
    return wire.LinksOut.model_validate(
        {"id": found.id, "links_out": found.outgoing, "links_in": found.incoming}
    )


ENDPOINTS = (
    endpoint("POST", "/api/memories/{id}/links", link, body=wire.LinkIn, answer=wire.LinkOut),
    endpoint("GET", "/api/memories/{id}/links", links_of, answer=wire.LinksOut),
    endpoint("DELETE", "/api/memories/{id}/links/{dst}/{type}", unlink, answer=wire.UnlinkOut),
)
