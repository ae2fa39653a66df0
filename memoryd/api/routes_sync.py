"""POST /api/sync (run a round now) and GET /api/sync/status."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memory_core.http.routing import endpoint
from memoryd.api.services import Services
from memoryd.sync.runtime import SyncService


def _sync(request: Request) -> SyncService:
    services: Services = request.app.state.services
    found: SyncService = services.extras["sync"]
    return found


async def sync_now(request: Request) -> Response:
    """Run a sync round now, and answer its result with the state after it."""
    service = _sync(request)
    result = await service.run_now()
    if result is None:
        status = await service.status()
        return JSONResponse(
            {"error": {"code": "sync_off", "message": status.get("why", "sync is off")}}, 409
        )
    return JSONResponse({**result.as_dict(), "status": await service.status()})


async def sync_status(request: Request) -> Response:
    """Sync on or off (and why), the hub, the queue and the last rounds."""
    return JSONResponse(await _sync(request).status())


ENDPOINTS = (
    endpoint("POST", "/api/sync", sync_now),
    endpoint("GET", "/api/sync/status", sync_status),
)
