"""The daemon's parts behind the viewer's curation pages, as one typed object of the lifespan:
the injection journal (Sessions), a memory's history and the trash, the per-project learn
pause, and the per-day counters of the status charts. Their housekeeping (pruning by age and
count) runs with auto-learn's maintenance."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from memory_core.clock import Clock
from memoryd.daily_stats import DailyCounters
from memoryd.learn.cleanup import Cleanup
from memoryd.learn.pause import LearnPause
from memoryd.sessions.journal import InjectionJournal
from memoryd.store.history import History
from memoryd.store.memories import MemoryStore


@dataclass(frozen=True)
class Curation:
    journal: InjectionJournal
    history: History
    pause: LearnPause
    daily: DailyCounters

    def maintenance(self) -> list[Cleanup]:
        return [self.journal.prune, self.history.prune, self.daily.prune]


@contextlib.asynccontextmanager
async def curation_parts(store: MemoryStore, clock: Clock) -> AsyncIterator[Curation]:
    daily = DailyCounters(store.db, clock)
    journal = InjectionJournal(store.db, clock, daily)
    daily.start()
    try:
        yield Curation(journal, History(store), LearnPause(store.db, clock), daily)
    finally:
        await journal.flush()
        await daily.close()
