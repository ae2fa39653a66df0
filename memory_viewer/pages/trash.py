"""Trash: deleted memories, newest first, each restorable for 30 days. A restore is a new
memory with the deleted one's fields and its links to memories still there (a delete is final
for its id: it has replicated), so the page links to the new one and says how many links to
memories deleted since it could not bring back."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from memory_core.errors import InvalidInput
from memory_viewer.guard import csrf_protected
from memory_viewer.pages.common import api
from memory_viewer.render import base_path, page

TRASH_LIMIT = 200


def _count(raw: str) -> int:
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 0


async def trash(request: Request) -> Response:
    """The trash."""
    entries = await api(request).trash(TRASH_LIMIT)
    return page(
        request,
        "trash.html",
        entries=entries,
        restored=request.query_params.get("restored", "")[:40],
        dropped=_count(request.query_params.get("dropped", "")),
        emptied=request.query_params.get("emptied", "")[:10],
    )


@csrf_protected
async def restore(request: Request) -> Response:
    """Restore one deleted memory."""
    raw = request.path_params["entry"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise InvalidInput(f"{raw[:40]!r} is not a trash entry number")
    restored, dropped = await api(request).restore(int(raw))
    where = f"{base_path(request)}/trash?restored={restored}"
    return RedirectResponse(where + (f"&dropped={dropped}" if dropped else ""), status_code=303)


@csrf_protected
async def empty(request: Request) -> Response:
    """Forget everything in the trash."""
    purged = await api(request).empty_trash()
    return RedirectResponse(f"{base_path(request)}/trash?emptied={purged}", status_code=303)


ROUTES = [
    Route("/trash", trash, methods=["GET"], name="trash"),
    Route("/trash/{entry}/restore", restore, methods=["POST"], name="trash_restore"),
    Route("/trash/empty", empty, methods=["POST"], name="trash_empty"),
]
