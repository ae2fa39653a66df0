"""Learned: what auto-learn stored, newest first, with the reason and the session it came
from; each entry can be undone (a new memory is deleted, an update restores the old text)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from memory_core.errors import InvalidInput
from memory_viewer.guard import csrf_protected
from memory_viewer.pages.common import api
from memory_viewer.render import base_path, page

LEARNED_LIMIT = 200
NO_PROJECT = "(none)"  # sessions outside any project (memoryd.learn.pause)


async def learned(request: Request) -> Response:
    """What auto-learn stored."""
    memories = api(request)
    entries, paused, stats = await asyncio.gather(
        memories.learned(LEARNED_LIMIT), memories.paused(), memories.optional("/api/stats")
    )
    projects = sorted({*(stats or {}).get("by_project", {}), *(paused or {})} - {""})
    return page(
        request,
        "learned.html",
        entries=entries,
        undone=request.query_params.get("undone", "")[:20],
        paused=paused,
        projects=[NO_PROJECT, *[p for p in projects if p != NO_PROJECT]],
    )


@csrf_protected
async def pause(request: Request) -> Response:
    """Pause or resume auto-learn for one project."""
    form = await request.form()
    project, state = form.get("project"), form.get("paused")
    if not isinstance(project, str) or state not in ("1", "0"):
        raise InvalidInput("expected a project and paused=1 or 0")
    await api(request).set_paused(project, state == "1")
    return RedirectResponse(f"{base_path(request)}/learned", status_code=303)


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
    Route("/learned/pause", pause, methods=["POST"], name="learned_pause"),
]
