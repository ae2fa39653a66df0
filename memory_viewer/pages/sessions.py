"""Sessions: for each recent Claude session, what the hooks injected at its start (the
SessionStart profile, each memory with its weight) and on each prompt (each candidate recall
brought, its score against the relevance floor, and whether it was injected or why not), each
memory linked to its page, where a bad injection can be fixed (edited, superseded, deleted).

The daemon journals no memory text: the memories are read through the API as they are now, so
one deleted since shows as such, and a sensitive one as its placeholder."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from memory_viewer.pages.common import api
from memory_viewer.render import page

SESSIONS_LIMIT = 100
HOOKS = {"start": "Session start (profile)", "prompt": "Prompt", "recovery": "After compaction"}


async def sessions(request: Request) -> Response:
    """The recent sessions."""
    found = await api(request).sessions(SESSIONS_LIMIT)
    return page(request, "sessions.html", sessions=found)


async def session(request: Request) -> Response:
    """One session's injections."""
    memories = api(request)
    found = await memories.session(request.path_params["session_id"])
    ids = [item["id"] for event in found["events"] for item in event["items"]]
    current = await memories.many(ids) if ids else {}
    return page(
        request,
        "session.html",
        session_id=found["session_id"],
        events=found["events"],
        memories=current,
        hooks=HOOKS,
    )


ROUTES = [
    Route("/sessions", sessions, methods=["GET"], name="sessions"),
    Route("/sessions/{session_id}", session, methods=["GET"], name="session"),
]
