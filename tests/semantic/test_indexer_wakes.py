"""The semantic indexer looks at the store again only when a memory may need embedding or a
vector was dropped: not after every commit. The prompt hook commits its session marks and
journal rows after each answer, and each look is two full scans (~10 ms of CPU at 10k
memories), which the hooks of 8 sessions at once used to pay over and over."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from memory_core.clock import Clock
from memoryd.semantic.embedder import Embedder
from memoryd.semantic.leg import SemanticLeg
from memoryd.sessions.tracker import SessionTracker
from memoryd.store.memories import MemoryStore, NewMemory
from tests.semantic.test_memory_use import TEXTS, wait_for


class CountedEvent(asyncio.Event):
    """The indexer's wake-up event, counting the indexer's rounds (one wait per round)."""

    rounds = 0

    async def wait(self) -> bool:
        self.rounds += 1
        return await super().wait()


async def test_commits_that_touch_no_memory_leave_the_indexer_idle(
    store: MemoryStore, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    leg = SemanticLeg(store.db, Embedder(threads=2), poll_s=0.01)
    looks = 0
    look = leg.sync_once

    async def counted() -> int:
        nonlocal looks
        looks += 1
        return await look()

    monkeypatch.setattr(leg, "sync_once", counted)
    rounds = CountedEvent()
    monkeypatch.setattr(leg, "_wake", rounds)
    task = asyncio.create_task(leg.run())
    try:
        # Written behind the indexer's back (no leg.written(), as a sync merge or an import).
        await store.import_many([NewMemory(content=TEXTS[0])])
        await wait_for(lambda: len(leg.index) == 1)
        # A whole round after it, so that a look the import's commits still owed is counted
        # here (on a loaded machine one came after the index had its vector).
        await wait_for(lambda after=rounds.rounds: rounds.rounds >= after + 2)
        seen = looks
        (memory,), _ = await store.get_many(await _ids(store))
        tracker = SessionTracker(store.db, clock)
        for session in ("a", "b", "c"):  # three commits to the hooks' own tables
            await tracker.mark(session, "injected", [memory])
            await wait_for(lambda after=rounds.rounds: rounds.rounds >= after + 2)  # a round after
        assert looks == seen

        await store.import_many([NewMemory(content=TEXTS[1])])  # a memory: looked at
        await wait_for(lambda: len(leg.index) == 2)
        await store.delete(memory.id)  # its vector dropped: looked at
        await wait_for(lambda: len(leg.index) == 1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _ids(store: MemoryStore) -> list[str]:
    async with store.db.reader() as conn:
        rows = await conn.execute_fetchall("SELECT id FROM memories WHERE deleted_ms IS NULL")
    return [str(r[0]) for r in rows]
