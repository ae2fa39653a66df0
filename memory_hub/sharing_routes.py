"""HTTP handlers of the sharing routes (memory_core.wire.sharing names them). Their table
(memory_hub.endpoints) puts them before /api/memories/{id}, so the literal paths (share-tag,
shared-with-me, my-shares) are never taken for a memory id."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memory_core.http.bodies import read_model
from memory_core.wire import sharing as wire
from memory_hub import original, sharing
from memory_hub.routes import hub, settings, user


def _users(request: Request) -> frozenset[str]:
    return frozenset(settings(request).keys)


async def share_memory(request: Request) -> Response:
    who = await user(request)
    body = await read_model(request, wire.ShareIn)
    memory_id = request.path_params["id"]
    return JSONResponse(
        await sharing.share_memory(hub(request), _users(request), who, memory_id, body)
    )


async def unshare_memory(request: Request) -> Response:
    who = await user(request)
    params = request.path_params
    return JSONResponse(
        await sharing.unshare_memory(hub(request), who, params["id"], params["user"])
    )


async def share_tag(request: Request) -> Response:
    who = await user(request)
    body = await read_model(request, wire.ShareTagIn)
    return JSONResponse(await sharing.share_tag(hub(request), _users(request), who, body))


async def unshare_tag(request: Request) -> Response:
    who = await user(request)
    body = await read_model(request, wire.UnshareTagIn)
    return JSONResponse(await sharing.unshare_tag(hub(request), who, body))


async def shared_with_me(request: Request) -> Response:
    who = await user(request)
    found = await sharing.shared_with_me(hub(request), who)
    return JSONResponse({"memories": [original.memory(m, who) for m in found["memories"]]})


async def my_shares(request: Request) -> Response:
    return JSONResponse(await sharing.my_shares(hub(request), await user(request)))


async def users(request: Request) -> Response:
    return JSONResponse(await sharing.users(hub(request), await user(request), _users(request)))
