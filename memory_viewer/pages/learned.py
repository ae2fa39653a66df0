"""Learned: what auto-learn stored, newest first, with the reason and the session it came
from; each entry can be undone (a new memory is deleted, an update restores the old text)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from memory_core.errors import InvalidInput
from memory_viewer.guard import csrf_protected
from memory_viewer.pages.common import api
from memory_viewer.render import base_path, page

LEARNED_LIMIT = 200


async def learned(request: Request) -> Response:
    """What auto-learn stored."""
    entries = await api(request).learned(LEARNED_LIMIT)
    return page(
        request,
        "learned.html",
        entries=entries,
        undone=request.query_params.get("undone", "")[:20],
    )


@csrf_protected
async def undo(request: Request) -> Response:
    """Undo one auto-learned change."""
    raw = request.path_params["entry"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise InvalidInput(f"{raw!r} is not an entry number")
    await api(request).undo_learned(int(raw))
    return RedirectResponse(f"{base_path(request)}/learned?undone={raw}", status_code=303)


ROUTES = [
    Route("/learned", learned, methods=["GET"], name="learned"),
    Route("/learned/{entry}/undo", undo, methods=["POST"], name="learned_undo"),
]
