"""HTTP handlers of the sharing routes (memory_core.wire.sharing names them). The app puts
them before memory_hub.routes, so the literal paths (share-tag, shared-with-me, my-shares) are
never taken for a memory id."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from memory_core.http.bodies import read_model
from memory_core.wire import sharing as wire
from memory_hub import original, sharing
from memory_hub.routes import hub, settings, user


def _users(request: Request) -> frozenset[str]:
    return frozenset(settings(request).keys)


async def share_memory(request: Request) -> Response:
    who = user(request)
    body = await read_model(request, wire.ShareIn)
    memory_id = request.path_params["id"]
    return JSONResponse(
        await sharing.share_memory(hub(request), _users(request), who, memory_id, body)
    )


async def unshare_memory(request: Request) -> Response:
    who = user(request)
    params = request.path_params
    return JSONResponse(
        await sharing.unshare_memory(hub(request), who, params["id"], params["user"])
    )


async def share_tag(request: Request) -> Response:
    who = user(request)
    body = await read_model(request, wire.ShareTagIn)
    return JSONResponse(await sharing.share_tag(hub(request), _users(request), who, body))


async def unshare_tag(request: Request) -> Response:
    who = user(request)
    body = await read_model(request, wire.UnshareTagIn)
    return JSONResponse(await sharing.unshare_tag(hub(request), who, body))


async def shared_with_me(request: Request) -> Response:
    who = user(request)
    found = await sharing.shared_with_me(hub(request), who)
    return JSONResponse({"memories": [original.memory(m, who) for m in found["memories"]]})


async def my_shares(request: Request) -> Response:
    return JSONResponse(await sharing.my_shares(hub(request), user(request)))


async def users(request: Request) -> Response:
    return JSONResponse(await sharing.users(hub(request), user(request), _users(request)))


SHARING_ROUTES = [
    Route(wire.SHARE_TAG_PATH, share_tag, methods=["POST"]),
    Route(wire.SHARE_TAG_PATH, unshare_tag, methods=["DELETE"]),
    Route(wire.SHARED_WITH_ME_PATH, shared_with_me, methods=["GET"]),
    Route(wire.MY_SHARES_PATH, my_shares, methods=["GET"]),
    Route(wire.SHARE_PATH, share_memory, methods=["POST"]),
    Route(wire.UNSHARE_PATH, unshare_memory, methods=["DELETE"]),
    Route(wire.USERS_PATH, users, methods=["GET"]),
]
