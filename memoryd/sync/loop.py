"""The background sync task, and the one lock every round takes (the background loop and
`POST /api/sync` never run two rounds at once on one database).

Schedule: a round on start, then after each interval; a write wakes the loop and a round runs
after a short debounce (never on the request path: the write only sets an event). While the
hub is unreachable the wait grows ×2 with jitter up to a cap; any success resets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, field

from memoryd.sync.engine import RoundResult, SyncEngine
from memoryd.tasks import cancel_and_wait

log = logging.getLogger("memoryd.sync")


@dataclass(eq=False)
class SyncLoop:
    engine: SyncEngine
    interval_s: float
    debounce_s: float = 2.0
    backoff_cap_s: float = 1800.0
    rng: random.Random = field(default_factory=random.Random)  # jitter, not security
    # Consecutive failed rounds (the backoff's exponent), and the last round's result.
    failures: int = field(default=0, init=False)
    last_result: RoundResult | None = field(default=None, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _dirty: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)

    def notify_write(self) -> None:
        self._dirty.set()

    async def run_now(self) -> RoundResult:
        async with self._lock:
            result = await self.engine.sync_once()
        self.last_result = result
        self.failures = 0 if result.ok else self.failures + 1
        if not result.ok:
            log.warning("sync round failed: %s", result.error_code)
        return result

    def next_wait(self) -> float:
        if self.failures == 0:
            return self.interval_s
        base = min(self.backoff_cap_s, 2.0 ** min(self.failures, 20))
        return base * self.rng.uniform(0.5, 1.0)

    async def _run(self) -> None:
        while True:
            await self.run_now()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), self.next_wait())
            if self._dirty.is_set():
                await asyncio.sleep(self.debounce_s)  # let a burst of writes land together
                self._dirty.clear()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="memoryd-sync")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
