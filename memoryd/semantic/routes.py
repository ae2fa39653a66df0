"""GET /api/semantic and POST /api/semantic/reindex: served whether or not the extra is on."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memory_core.errors import Conflict
from memory_core.http.routing import endpoint
from memoryd import semantic


def _leg(request: Request) -> object | None:
    leg: object | None = request.app.state.services.extras.get("semantic")
    return leg


async def semantic_status(request: Request) -> Response:
    """State of the semantic leg: on or off, model, vectors indexed and still pending."""
    leg = _leg(request)
    if leg is None:
        return JSONResponse(
            {"enabled": False, "installed": semantic.installed(), "indexed": 0, "pending": 0}
        )
    from memoryd.semantic.leg import SemanticLeg

    assert isinstance(leg, SemanticLeg)
    return JSONResponse(await leg.status())


async def semantic_reindex(request: Request) -> Response:
    """Drop every stored vector so the daemon embeds the whole store again."""
    leg = _leg(request)
    if leg is None:
        raise Conflict(
            "the semantic leg is off: install memoryd[semantic] and unset MEMORY_SEMANTIC=0, "
            "then restart memoryd"
        )
    from memoryd.semantic.leg import SemanticLeg

    assert isinstance(leg, SemanticLeg)
    dropped = await leg.reindex()
    return JSONResponse({"dropped": dropped, **(await leg.status())})


ENDPOINTS = (
    endpoint("GET", "/api/semantic", semantic_status),
    endpoint("POST", "/api/semantic/reindex", semantic_reindex),
)
