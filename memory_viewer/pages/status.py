"""Status: the daemon (or hub), the store's counts, sync, the semantic index and auto-learn,
each as its own endpoint reports it, and a chart of memories over time by source."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from memory_core.clock import ms_from_iso
from memory_viewer.chart import daily_chart, line_chart
from memory_viewer.pages.common import api
from memory_viewer.render import page

DAYS = 30  # of per-day counters on the page


async def status(request: Request) -> Response:
    """The status page."""
    memories = api(request)
    parts, every, daily = await asyncio.gather(
        memories.status_parts(), memories.every_memory(), memories.daily(DAYS)
    )
    chart = line_chart(
        [(ms_from_iso(m.created_at), m.source) for m in every],
        "Memories over time, by source",
    )
    return page(request, "status.html", chart=chart, daily=daily_charts(daily), **parts)


def _field(name: str, percentile: str | None = None) -> Callable[[dict[str, Any]], Any]:
    def read(day: dict[str, Any]) -> Any:
        value = day.get(name)
        if percentile is None:
            return value or 0
        return value.get(percentile) if isinstance(value, dict) else None

    return read


def daily_charts(daily: dict[str, Any] | None) -> dict[str, Markup] | None:
    """The daemon's per-day counters as two charts (None where the server has none)."""
    if daily is None:
        return None
    days = list(daily.get("days", []))
    uses = {"recalls": _field("recall"), "injections": _field("injections")}
    latency = {
        f"{label} {p}": _field(f"{name}_ms", p)
        for name, label in (("recall", "recall"), ("prompt_hook", "hook"))
        for p in ("p50", "p95")
    }
    return {
        "uses": daily_chart("Recalls and injections per day", days, uses),
        "latency": daily_chart("Latency per day (ms, bucket upper bound)", days, latency),
    }


ROUTES = [Route("/status", status, methods=["GET"], name="status")]
