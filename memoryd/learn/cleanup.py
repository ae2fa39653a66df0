"""The daemon's housekeeping schedule: cleanups (expired compaction markers, old session
marks) run from the learning worker's loop, at most once per period, so that no other task
or timer is needed for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from memory_core.clock import Clock

Cleanup = Callable[[], Awaitable[Any]]
CLEANUP_EVERY_MS = 3_600_000


class CleanupSchedule:
    def __init__(self, clock: Clock, every_ms: int = CLEANUP_EVERY_MS) -> None:
        self.clock = clock
        self.every_ms = every_ms
        self._last_ms = -every_ms  # the first pass is due at once

    async def run_due(self, cleanups: Sequence[Cleanup]) -> None:
        """Run `cleanups` one after another if a period has passed since the last run."""
        now = self.clock.now_ms()
        if now - self._last_ms < self.every_ms:
            return
        self._last_ms = now
        for cleanup in cleanups:
            await cleanup()
