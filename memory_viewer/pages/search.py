"""The search page: a query ranked as recall ranks it (with each result's score), or, with no
query, the newest memories; filtered by category, project, tag, source, sensitivity and date."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from memory_core.wire import rest
from memory_viewer.api import MemoryApi
from memory_viewer.guard import session_of
from memory_viewer.pages.common import api
from memory_viewer.render import page
from memory_viewer.search_form import PAGE_SIZE, SearchForm
from memory_viewer.sessions import Session

SCAN_PAGE = 1000
PROJECTS_TTL_S = 60.0
SCAN_CAP = 10_000  # the newest memories a list filtered by the viewer looks through


@dataclass
class Hit:
    memory: rest.MemoryOut
    score: float | None = None


@dataclass
class Results:
    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    more: bool = False  # a next page exists
    scanned_all: bool = True  # False: only the newest SCAN_CAP memories were filtered


async def run_search(memories: MemoryApi, form: SearchForm) -> Results:
    start = form.page * PAGE_SIZE
    if form.ranked:
        found = await memories.recall(form.recall_query())
        ranked = [Hit(m, m.score) for m in found.memories if form.keeps(m)]
        return Results(
            hits=ranked[start : start + PAGE_SIZE],
            total=len(ranked),
            more=len(ranked) > start + PAGE_SIZE,
        )
    if not form.filters_after:
        listed = await memories.page({**form.list_params(), "limit": PAGE_SIZE, "offset": start})
        return Results(
            hits=[Hit(m) for m in listed.memories],
            total=listed.total,
            more=start + len(listed.memories) < listed.total,
        )
    # Filters the list endpoint lacks: look through the newest memories, a page at a time,
    # until this page of matches is full.
    kept: list[rest.MemoryOut] = []
    offset, total = 0, None
    while offset < SCAN_CAP and len(kept) <= start + PAGE_SIZE:
        listed = await memories.page({**form.list_params(), "limit": SCAN_PAGE, "offset": offset})
        total = listed.total
        kept += [m for m in listed.memories if form.keeps(m)]
        offset += len(listed.memories)
        if not listed.memories or offset >= total:
            break
    exhausted = total is None or offset >= total
    return Results(
        hits=[Hit(m) for m in kept[start : start + PAGE_SIZE]],
        total=len(kept),
        more=len(kept) > start + PAGE_SIZE,
        scanned_all=exhausted,
    )


async def project_names(memories: MemoryApi, session: Session) -> list[str]:
    """The projects offered by the filter, from the stats (slow on a large store: kept for a
    minute in the session)."""
    now = time.monotonic()
    if session.projects is None or now - session.projects_at > PROJECTS_TTL_S:
        stats = await memories.optional("/api/stats")
        session.projects = sorted((stats or {}).get("by_project", {}))
        session.projects_at = now
    return session.projects


async def search(request: Request) -> Response:
    """The search page."""
    form = SearchForm.parse(request.query_params)
    memories = api(request)
    results, projects = await asyncio.gather(
        run_search(memories, form), project_names(memories, session_of(request))
    )
    return page(
        request,
        "search.html",
        form=form,
        results=results,
        projects=projects,
        deleted=request.query_params.get("deleted", "")[:64],
    )


async def search_results(request: Request) -> Response:
    """Only the results of a search: what the page's script swaps in as the user types."""
    form = SearchForm.parse(request.query_params)
    results = await run_search(api(request), form)
    return page(request, "_results.html", form=form, results=results)


ROUTES = [
    Route("/", search, methods=["GET"], name="search"),
    Route("/search/results", search_results, methods=["GET"], name="search_results"),
]
