"""Counters by day for the status charts: recalls and injections per day, and the latency of
recall and of the prompt hook as a histogram per day (from which the percentiles are read).

Counted in memory and written once a minute (and at shutdown), so that no request waits for
the writer; a daemon killed outright loses at most that minute. Bounded: KEEP_DAYS days, a
fixed set of names, and each histogram a fixed set of buckets.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import aiosqlite
from starlette.types import ASGIApp, Receive, Scope, Send

from memory_core.clock import Clock
from memoryd.store.db import Database
from memoryd.tasks import cancel_and_wait

KEEP_DAYS = 90
FLUSH_SECONDS = 60.0
# Upper bounds of the latency buckets, in ms (the last one takes everything slower).
BUCKETS_MS = (1, 2, 3, 5, 8, 13, 20, 30, 50, 80, 130, 200, 300, 500, 800, 1300, 2000, 5000)
# The requests timed (and counted) per day, by path.
TIMED = {"/api/memories/recall": "recall", "/api/hooks/prompt": "prompt_hook"}

log = logging.getLogger("memoryd")


def day_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def bucket_of(ms: float) -> int:
    for index, bound in enumerate(BUCKETS_MS):
        if ms <= bound:
            return index
    return len(BUCKETS_MS)


def percentile(buckets: list[int], share: float) -> float | None:
    """The upper bound of the bucket holding the `share` percentile (None: no samples)."""
    total = sum(buckets)
    if total == 0:
        return None
    rank, seen = share * total, 0
    for index, count in enumerate(buckets):
        seen += count
        if seen >= rank:
            return float(BUCKETS_MS[min(index, len(BUCKETS_MS) - 1)])
    return float(BUCKETS_MS[-1])


class DailyCounters:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._counts: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._latency: dict[tuple[str, str], list[int]] = {}
        self._task: asyncio.Task[None] | None = None
        # Today's name, by day number: every prompt counts, and formatting a date each time
        # cost more than the counting (a UTC day is whole milliseconds // 86_400_000).
        self._today: tuple[int, str] = (0, day_of(0))

    def _day(self) -> str:
        ms = self.clock.now_ms()
        number = ms // 86_400_000
        if number != self._today[0]:
            self._today = (number, day_of(ms))
        return self._today[1]

    def count(self, name: str, n: int = 1) -> None:
        if n:
            self._counts[(self._day(), name)] += n

    def timed(self, name: str, ms: float) -> None:
        key = (self._day(), name)
        histogram = self._latency.setdefault(key, [0] * (len(BUCKETS_MS) + 1))
        histogram[bucket_of(ms)] += 1
        self._counts[(key[0], name)] += 1

    def start(self) -> None:
        self._task = asyncio.create_task(self._every_minute(), name="memoryd-daily-stats")

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        await self.flush()

    async def _every_minute(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                await self.flush()
            except Exception:  # counters are worth less than the daemon
                log.exception("could not write the daily counters")

    async def flush(self) -> None:
        counts, self._counts = dict(self._counts), defaultdict(int)
        latency, self._latency = self._latency, {}
        if not counts and not latency:
            return

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.executemany(
                "INSERT INTO daily_counts (day, name, value) VALUES (?, ?, ?) "
                "ON CONFLICT (day, name) DO UPDATE SET value = value + excluded.value",
                [(day, name, n) for (day, name), n in counts.items()],
            )
            for (day, name), histogram in latency.items():
                rows = await conn.execute_fetchall(
                    "SELECT buckets FROM daily_latency WHERE day = ? AND name = ?", (day, name)
                )
                for row in rows:
                    old = json.loads(row[0])
                    histogram = [a + b for a, b in zip(histogram, old, strict=False)]
                await conn.execute(
                    "INSERT OR REPLACE INTO daily_latency (day, name, buckets) VALUES (?, ?, ?)",
                    (day, name, json.dumps(histogram)),
                )

        await self.db.write(job)

    async def read(self, days: int) -> dict[str, Any]:
        """The last `days` days: counts by name, and latency percentiles by name."""
        await self.flush()
        since = day_of(self.clock.now_ms() - (days - 1) * 86_400_000)
        async with self.db.reader() as conn:
            counts = await conn.execute_fetchall(
                "SELECT day, name, value FROM daily_counts WHERE day >= ? ORDER BY day", (since,)
            )
            latency = await conn.execute_fetchall(
                "SELECT day, name, buckets FROM daily_latency WHERE day >= ? ORDER BY day",
                (since,),
            )
        by_day: dict[str, dict[str, Any]] = {}
        for day, name, value in counts:
            by_day.setdefault(day, {"day": day})[name] = value
        for day, name, raw in latency:
            histogram = json.loads(raw)
            by_day.setdefault(day, {"day": day})[f"{name}_ms"] = {
                "p50": percentile(histogram, 0.50),
                "p95": percentile(histogram, 0.95),
                "p99": percentile(histogram, 0.99),
            }
        return {"since": since, "days": [by_day[d] for d in sorted(by_day)]}

    async def prune(self) -> int:
        cutoff = day_of(self.clock.now_ms() - KEEP_DAYS * 86_400_000)

        async def job(conn: aiosqlite.Connection) -> int:
            a = await conn.execute("DELETE FROM daily_counts WHERE day < ?", (cutoff,))
            b = await conn.execute("DELETE FROM daily_latency WHERE day < ?", (cutoff,))
            return a.rowcount + b.rowcount

        return await self.db.write(job)


class TimingMiddleware:
    """Times the requests of TIMED into the daemon's DailyCounters (when it has them: not in
    HTTP-only mode)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = TIMED.get(scope.get("path", "")) if scope["type"] == "http" else None
        if name is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            components = scope.get("state", {}).get("components")
            daily = getattr(getattr(components, "curation", None), "daily", None)
            if isinstance(daily, DailyCounters):
                daily.timed(name, (time.perf_counter() - started) * 1000)
