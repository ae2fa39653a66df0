"""Sharing as a component of the daemon: the hub's sharing routes (memory_core.wire.sharing),
each forwarded to the hub. Listed before the memory routes, so that the literal paths are
never taken for a memory id.

A memory to share is named as the daemon names it (a unique prefix too); the hub gets its
full id. In hybrid mode a memory stored here may not have reached the hub yet: when the hub
does not know it, one sync round runs and the request is sent once more.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memory_core.errors import InvalidInput, NotFound
from memory_core.http.routing import endpoint
from memory_core.wire import sharing as wire
from memoryd.api.components import components
from memoryd.sharing.forward import HubForwarder

MAX_ID_CHARS = 64


def _hub(request: Request) -> HubForwarder:
    found = components(request).sharing
    assert found is not None, "the lifespan always gives the daemon its sharing component"
    return found


async def _own_id(request: Request, raw: str) -> tuple[str, bool]:
    """The full id of the caller's memory `raw` names, and whether this daemon's own store
    knows it; an id it does not know goes to the hub as given (the hub has the last word)."""
    text = raw.strip()
    if not text or len(text) > MAX_ID_CHARS or not text.isprintable():
        raise InvalidInput(f"{raw[:80]!r} is not a memory id")
    try:
        return (await components(request).store.get(text)).id, True
    except (NotFound, InvalidInput):
        return text, False


async def _about_memory(
    request: Request, method: str, path: str, memory_id: str, body: Any = None
) -> Response:
    """Send a request naming one of the caller's memories (`{id}` in `path`)."""
    full, known = await _own_id(request, memory_id)
    target = path.replace("{id}", quote(full, safe=""))
    try:
        return JSONResponse(await _hub(request).send(method, target, body))
    except NotFound:
        sync = components(request).sync
        if not known or sync.mode != "hybrid" or await sync.run_now() is None:
            raise
        return JSONResponse(await _hub(request).send(method, target, body))


async def share_memory(request: Request, body: wire.ShareIn) -> Response:
    """Share one of your memories with another user of the hub (read or write)."""
    memory_id = request.path_params["id"]
    return await _about_memory(request, "POST", wire.SHARE_PATH, memory_id, body.model_dump())


async def unshare_memory(request: Request) -> Response:
    """Stop sharing one of your memories with a user."""
    who = quote(request.path_params["user"], safe="")
    path = wire.SHARE_PATH + "/" + who
    return await _about_memory(request, "DELETE", path, request.path_params["id"])


async def share_tag(request: Request, body: wire.ShareTagIn) -> Response:
    """Share every memory with a tag, now and later, with another user of the hub."""
    answer = await _hub(request).send("POST", wire.SHARE_TAG_PATH, body.model_dump())
    return JSONResponse(answer)


async def unshare_tag(request: Request, body: wire.UnshareTagIn) -> Response:
    """Stop sharing a tag with a user."""
    answer = await _hub(request).send("DELETE", wire.SHARE_TAG_PATH, body.model_dump())
    return JSONResponse(answer)


async def shared_with_me(request: Request) -> Response:
    """The memories other users share with you, each with its owner and permission."""
    return JSONResponse(await _hub(request).send("GET", wire.SHARED_WITH_ME_PATH))


async def my_shares(request: Request) -> Response:
    """What you share: memories and tags, with whom and how."""
    return JSONResponse(await _hub(request).send("GET", wire.MY_SHARES_PATH))


async def users(request: Request) -> Response:
    """The users you share with or who share with you."""
    return JSONResponse(await _hub(request).send("GET", wire.USERS_PATH))


ENDPOINTS = (
    endpoint("POST", wire.SHARE_TAG_PATH, share_tag, body=wire.ShareTagIn),
    endpoint("DELETE", wire.SHARE_TAG_PATH, unshare_tag, body=wire.UnshareTagIn),
    endpoint("GET", wire.SHARED_WITH_ME_PATH, shared_with_me),
    endpoint("GET", wire.MY_SHARES_PATH, my_shares),
    endpoint("POST", wire.SHARE_PATH, share_memory, body=wire.ShareIn),
    endpoint("DELETE", wire.UNSHARE_PATH, unshare_memory),
    endpoint("GET", wire.USERS_PATH, users),
)
