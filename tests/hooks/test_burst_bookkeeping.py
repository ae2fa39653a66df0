"""The prompt hook's bookkeeping (session marks, use counts, journal rows) written after the
answers of a burst, in one transaction (memoryd.sessions.deferred): in-process on a real store
with a hand-moved clock."""

from __future__ import annotations

import asyncio

from memoryd.sessions.deferred import PromptsInFlight
from memoryd.sessions.inject import HookService
from memoryd.sessions.journal import InjectionJournal
from memoryd.sessions.markers import CompactionMarkers
from memoryd.sessions.tracker import SessionTracker
from memoryd.store.memories import MemoryStore, NewMemory
from tests.conftest import FakeClock

TOPICS = ["postgres vacuum", "redis eviction", "kafka retention", "nginx buffering"]


async def _service(store: MemoryStore, clock: FakeClock, burst: PromptsInFlight) -> HookService:
    for topic in TOPICS:
        await store.create(NewMemory(f"Decision: the {topic} settings live in ops/{topic[:5]}"))
    tracker = SessionTracker(store.db, clock, burst)
    journal = InjectionJournal(store.db, clock, burst=burst)
    return HookService(store, tracker, CompactionMarkers(store.db, clock), clock, journal, burst)


async def _table(store: MemoryStore, sql: str) -> list[tuple[object, ...]]:
    async with store.db.reader() as conn:
        return [tuple(row) for row in await conn.execute_fetchall(sql)]


async def test_a_burst_of_prompts_writes_its_bookkeeping_in_one_transaction(
    store: MemoryStore, clock: FakeClock
) -> None:
    burst = PromptsInFlight(max_wait_s=3600)  # only the burst's end may release the rows
    hooks = await _service(store, clock, burst)
    prompts = [f"how do we tune the {TOPICS[n % 4]} settings?" for n in range(8)]
    answers = await asyncio.gather(
        *(hooks.on_prompt(f"s{n}", p, None, 8192) for n, p in enumerate(prompts))
    )
    assert all("ops/" in answer for answer in answers)
    assert hooks.journal is not None
    await hooks.journal.flush()
    await hooks.tracker.flush()
    assert hooks.tracker.writes == 1  # eight answers' marks and use counts: one commit
    marks = await _table(store, "SELECT session_id, kind FROM hook_session_memories")
    assert sorted(marks) == [(f"s{n}", "injected") for n in range(8)]
    used = await _table(store, "SELECT SUM(injected) FROM memory_usage")
    assert used == [(8,)]
    journal = await _table(store, "SELECT session_id FROM injection_journal ORDER BY seq")
    assert sorted(journal) == [(f"s{n}",) for n in range(8)]
    # Dedup held meanwhile and holds now: the same prompts inject nothing the second time.
    again = [hooks.on_prompt(f"s{n}", p, None, 8192) for n, p in enumerate(prompts)]
    assert await asyncio.gather(*again) == [""] * 8


async def test_a_flush_writes_at_once_while_prompts_are_being_answered(
    store: MemoryStore, clock: FakeClock
) -> None:
    """PreCompact, `clear`, the Sessions page and shutdown flush: they must not wait for the
    prompts in flight to end."""
    burst = PromptsInFlight(max_wait_s=3600)
    hooks = await _service(store, clock, burst)
    memory = (await store.create(NewMemory("Deploys go through the release train"))).memory
    assert hooks.journal is not None
    with burst.answering():
        hooks.tracker.note("s", "injected", [memory])
        hooks.journal.record("s", "prompt", None, [{"id": memory.id, "outcome": "injected"}])
        assert await hooks.tracker.seen("s") == [memory.id]  # flushes first
        assert [e["hook"] for e in await hooks.journal.events("s")] == ["prompt"]
        marks = await _table(store, "SELECT session_id, kind FROM hook_session_memories")
        assert marks == [("s", "injected")]


async def test_quiet_waits_for_the_last_prompt_answered_and_no_longer() -> None:
    burst = PromptsInFlight(max_wait_s=3600)
    await burst.quiet()  # nothing answered: at once
    with burst.answering():
        with burst.answering():
            waiting = asyncio.create_task(burst.quiet())
            await asyncio.sleep(0)
            assert not waiting.done()
        await asyncio.sleep(0)
        assert not waiting.done()  # one is still being answered
        burst.release()  # a flush: the waiters go now ...
        await waiting
        later = asyncio.create_task(burst.quiet())
        await asyncio.sleep(0)
        assert not later.done()  # ... and those after it wait again
    await later


async def test_quiet_gives_up_after_its_longest_wait() -> None:
    """Prompts that overlap without end still have their rows written."""
    burst = PromptsInFlight(max_wait_s=0.01)
    with burst.answering():
        await burst.quiet()
