"""The curation endpoints behind the viewer's pages (and any other client): the hooks'
injection journal per session, a memory's history, the trash and restore, marking a memory as
superseded, the per-project learn pause, and the per-day counters. Local to this daemon: in
HTTP-only mode (no local store) they answer 503."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memory_core.errors import InvalidInput, NotFound, Unavailable
from memory_core.http.routing import endpoint
from memoryd.api.components import components
from memoryd.api.routes import memory_out
from memoryd.curation import Curation
from memoryd.learn.pause import check_project

MemoryRef = Annotated[str, StringConstraints(min_length=4, max_length=64)]


class SupersededIn(BaseModel):
    """POST /api/memories/{id}/superseded-by: the live memory that replaces this one."""

    model_config = ConfigDict(extra="forbid")
    by: MemoryRef


class PauseIn(BaseModel):
    """PUT /api/learn/paused: pause (or resume) auto-learn for one project."""

    model_config = ConfigDict(extra="forbid")
    project: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    paused: bool


def curation(request: Request) -> Curation:
    found = components(request).curation
    if found is None:
        raise Unavailable("history, sessions and the learn pause are kept by a local store only")
    return found


def _count(request: Request, name: str, default: int, most: int) -> int:
    raw = request.query_params.get(name, str(default))
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or not 1 <= int(raw) <= most:
        raise InvalidInput(f"{name} must be an integer between 1 and {most} (got {raw[:40]!r})")
    return int(raw)


async def list_sessions(request: Request) -> Response:
    """The most recent Claude sessions the hooks injected into, newest first."""
    limit = _count(request, "limit", 50, 500)
    found = await curation(request).journal.sessions(limit)
    return JSONResponse({"sessions": [s.__dict__ for s in found]})


async def session_injections(request: Request) -> Response:
    """What the hooks injected into one session and why (score against the floor)."""
    session_id = request.path_params["id"]
    events = await curation(request).journal.events(session_id[:200])
    if not events:
        raise NotFound(f"no injections recorded for session {session_id[:80]!r}")
    return JSONResponse({"session_id": session_id, "events": events})


async def memory_history(request: Request) -> Response:
    """A memory's versions (newest first), what made each, and what replaced it."""
    history = curation(request).history
    memory_id = request.path_params["id"]
    versions = await history.versions(memory_id)
    return JSONResponse(
        {
            "id": memory_id,
            "versions": [v.as_dict() for v in versions],
            "superseded_by": await history.superseded_by(memory_id),
            "this_replica": await history.local_replica(),
        }
    )


async def mark_superseded(request: Request, body: SupersededIn) -> Response:
    """Mark this memory as replaced by a newer one (sets the newer one's `supersedes`)."""
    newer = await curation(request).history.mark_superseded(request.path_params["id"], body.by)
    return JSONResponse({"updated": newer.id, "memory": memory_out(newer).model_dump()})


async def trash(request: Request) -> Response:
    """Deleted memories that can still be restored, newest first."""
    limit = _count(request, "limit", 100, 1000)
    found = await curation(request).history.trash(limit)
    return JSONResponse({"trash": [v.as_dict() for v in found]})


async def restore(request: Request) -> Response:
    """Restore a deleted memory: a new memory with its fields and its links to memories still
    there (a new write, replicated); `links_dropped` names the links it did not get back."""
    raw = request.path_params["entry"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise InvalidInput(f"{raw[:40]!r} is not a trash entry number")
    restored = await curation(request).history.restore(int(raw))
    memory = restored.memory
    return JSONResponse(
        {
            "restored": memory.id,
            "memory": memory_out(memory).model_dump(),
            "links_dropped": restored.links_dropped,
        }
    )


async def empty_trash(request: Request) -> Response:
    """Forget every trash entry now."""
    return JSONResponse({"purged": await curation(request).history.empty_trash()})


async def paused_projects(request: Request) -> Response:
    """The projects whose auto-learn is paused, with when."""
    return JSONResponse({"paused": await curation(request).pause.paused()})


async def set_paused(request: Request, body: PauseIn) -> Response:
    """Pause or resume auto-learn for one project."""
    project = check_project(body.project)
    await curation(request).pause.set(project, body.paused)
    return JSONResponse({"project": project, "paused": body.paused})


async def daily(request: Request) -> Response:
    """Recalls and injections per day, and recall and prompt-hook latency percentiles."""
    days = _count(request, "days", 30, 90)
    return JSONResponse(await curation(request).daily.read(days))


ENDPOINTS = (
    endpoint("GET", "/api/sessions", list_sessions, query=("limit",)),
    endpoint("GET", "/api/sessions/{id}", session_injections),
    endpoint("GET", "/api/memories/{id}/history", memory_history),
    endpoint("POST", "/api/memories/{id}/superseded-by", mark_superseded, body=SupersededIn),
    endpoint("GET", "/api/trash", trash, query=("limit",)),
    endpoint("POST", "/api/trash/{entry}/restore", restore),
    endpoint("DELETE", "/api/trash", empty_trash),
    endpoint("GET", "/api/learn/paused", paused_projects),
    endpoint("PUT", "/api/learn/paused", set_paused, body=PauseIn),
    endpoint("GET", "/api/stats/daily", daily, query=("days",)),
)
