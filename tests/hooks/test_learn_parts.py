"""The learning queue's parts alone, on a real store: the token ledger against its daily cap,
the undo ledger, and the hourly cleanup schedule."""

from __future__ import annotations

from memoryd.learn.cleanup import CLEANUP_EVERY_MS, CleanupSchedule
from memoryd.learn.learned import LearnedLedger
from memoryd.learn.spend import TokenLedger
from memoryd.store.memories import MemoryStore, NewMemory
from tests.conftest import FakeClock

DAY_MS = 86_400_000


async def test_the_token_ledger_counts_each_utc_day_against_the_cap(
    store: MemoryStore, clock: FakeClock
) -> None:
    ledger = TokenLedger(store.db, clock, daily_tokens=1000)
    await ledger.add(600, 100)
    assert not await ledger.exhausted()
    await ledger.add(250, 50)
    today = await ledger.spent()
    assert (today["tokens"], today["calls"]) == (1000, 2)
    assert await ledger.exhausted()

    clock.advance(DAY_MS)
    assert not await ledger.exhausted()
    assert (await ledger.spent(today["day"]))["tokens"] == 1000


async def test_undo_deletes_a_stored_lesson_once(store: MemoryStore, clock: FakeClock) -> None:
    ledger = LearnedLedger(store, clock)
    created = await store.create(NewMemory(content="prefers tabs", source="auto-learn"))
    await ledger.record(created.memory.id, "s1", "stored", "preference", "said so twice")
    (entry,) = await ledger.entries()
    assert entry["content"] == "prefers tabs" and entry["undone"] is False

    assert (await ledger.undo(entry["entry"]))["undone"] == "deleted the memory"
    assert (await ledger.undo(entry["entry"]))["undone"] == "already"
    (after,) = await ledger.entries()
    assert after["undone"] is True and after["content"] is None


async def test_cleanups_run_at_once_then_at_most_once_a_period(clock: FakeClock) -> None:
    runs: list[int] = []

    async def cleanup() -> None:
        runs.append(clock.now_ms())

    schedule = CleanupSchedule(clock)
    await schedule.run_due([cleanup])
    clock.advance(CLEANUP_EVERY_MS - 1)
    await schedule.run_due([cleanup])
    assert len(runs) == 1
    clock.advance(1)
    await schedule.run_due([cleanup])
    assert len(runs) == 2
