"""Status: the daemon (or hub), the store's counts, sync, the semantic index and auto-learn,
each as its own endpoint reports it, and a chart of memories over time by source."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from memory_core.clock import ms_from_iso
from memory_viewer.chart import line_chart
from memory_viewer.pages.common import api
from memory_viewer.render import page


async def status(request: Request) -> Response:
    """The status page."""
    memories = api(request)
    parts, every = await asyncio.gather(memories.status_parts(), memories.every_memory())
    chart = line_chart(
        [(ms_from_iso(m.created_at), m.source) for m in every],
        "Memories over time, by source",
    )
    return page(request, "status.html", chart=chart, **parts)


ROUTES = [Route("/status", status, methods=["GET"], name="status")]
