"""Compaction markers and session tracking, in-process on a real store with a hand-moved clock."""

from __future__ import annotations

from memoryd.sessions.markers import MAX_AGE_MS, CompactionMarkers
from memoryd.sessions.tracker import RETENTION_MS, SessionTracker
from memoryd.store.memories import MemoryStore, NewMemory, Patch
from tests.conftest import FakeClock
from tests.hooks.store_held import writer_held


async def test_a_marker_is_used_once(store: MemoryStore, clock: FakeClock) -> None:
    markers = CompactionMarkers(store.db, clock)
    await markers.save("s1", ["a", "b"], "proj")
    assert await markers.pending("s1")
    assert await markers.take("s1") == ["a", "b"]
    assert await markers.take("s1") is None
    assert not await markers.pending("s1")


async def test_a_marker_unused_for_a_day_is_dropped(store: MemoryStore, clock: FakeClock) -> None:
    markers = CompactionMarkers(store.db, clock)
    await markers.save("old", ["a"], None)
    clock.advance(MAX_AGE_MS // 2)
    await markers.save("young", ["b"], None)
    clock.advance(MAX_AGE_MS // 2 + 1)
    assert not await markers.pending("old")
    assert await markers.cleanup() == 1
    assert await markers.take("young") == ["b"]
    await markers.save("stale", ["c"], None)
    clock.advance(MAX_AGE_MS + 1)
    assert await markers.take("stale") is None  # too old to be trusted, even before cleanup


async def test_tracking_dedups_until_the_memory_changes(
    store: MemoryStore, clock: FakeClock
) -> None:
    tracker = SessionTracker(store.db, clock)
    memory = (await store.create(NewMemory("Builds run on Buildkite agents"))).memory
    assert await tracker.fresh("s", [memory]) == [memory]
    await tracker.mark("s", "injected", [memory])
    assert await tracker.fresh("s", [memory]) == []
    assert await tracker.fresh("other", [memory]) == [memory]
    clock.advance(1000)
    changed = await store.update(memory.id, Patch(content="Builds run on GitHub Actions"))
    assert await tracker.fresh("s", [changed]) == [changed]
    await tracker.forget_injected("s")
    assert await tracker.seen("s") == []
    await tracker.mark("s", "stored", [changed])
    assert await tracker.seen("s") == [changed.id]
    clock.advance(RETENTION_MS + 1)
    assert await tracker.cleanup() == 1
    assert await tracker.seen("s") == []


async def rows_in_db(store: MemoryStore, session_id: str) -> list[tuple[str, str]]:
    async with (
        store.db.reader() as conn,
        conn.execute(
            "SELECT memory_id, kind FROM hook_session_memories WHERE session_id = ? "
            "ORDER BY memory_id, kind",
            (session_id,),
        ) as cursor,
    ):
        return [(row[0], row[1]) for row in await cursor.fetchall()]


async def test_a_noted_mark_dedups_before_it_is_written(
    store: MemoryStore, clock: FakeClock
) -> None:
    tracker = SessionTracker(store.db, clock)
    memory = (await store.create(NewMemory("The API gateway is Envoy"))).memory
    # Another writer holds the single writer, as a store or a sync merge would.
    async with writer_held(store):
        tracker.note("s", "injected", [memory])
        assert await tracker.fresh("s", [memory]) == []  # deduped from memory alone
        assert await tracker.fresh("other", [memory]) == [memory]
        assert await rows_in_db(store, "s") == []
        assert tracker.pending_rows() == 1
    await tracker.flush()
    assert tracker.pending_rows() == 0
    assert await rows_in_db(store, "s") == [(memory.id, "injected")]
    assert await tracker.fresh("s", [memory]) == []


async def test_notes_from_many_sessions_are_written_together(
    store: MemoryStore, clock: FakeClock
) -> None:
    tracker = SessionTracker(store.db, clock)
    memory = (await store.create(NewMemory("Releases are tagged vX.Y.Z"))).memory
    for n in range(8):
        tracker.note(f"s{n}", "injected", [memory])
    # One flush task took every session's row: a single transaction, not eight.
    assert tracker.pending_rows() == 8
    await tracker.flush()
    assert tracker.writes == 1
    for n in range(8):
        assert await rows_in_db(store, f"s{n}") == [(memory.id, "injected")]


async def test_forget_and_seen_include_marks_not_yet_written(
    store: MemoryStore, clock: FakeClock
) -> None:
    tracker = SessionTracker(store.db, clock)
    memory = (await store.create(NewMemory("Logs go to Loki"))).memory
    tracker.note("s", "recalled", [memory])
    assert await tracker.seen("s") == [memory.id]  # PreCompact must see it
    tracker.note("s", "injected", [memory])
    await tracker.forget_injected("s")  # the queued row must not outlive the delete
    await tracker.flush()
    assert await rows_in_db(store, "s") == [(memory.id, "recalled")]


async def test_close_writes_what_was_noted(store: MemoryStore, clock: FakeClock) -> None:
    tracker = SessionTracker(store.db, clock)
    memory = (await store.create(NewMemory("Feature flags live in Unleash"))).memory
    tracker.note("s", "injected", [memory])
    await tracker.close()
    assert tracker.pending_rows() == 0
    assert await rows_in_db(store, "s") == [(memory.id, "injected")]


async def test_use_is_counted_for_recalls_and_prompt_injections_not_briefings(
    store: MemoryStore, clock: FakeClock
) -> None:
    tracker = SessionTracker(store.db, clock)
    memory = (await store.create(NewMemory("The API gateway is Envoy"))).memory
    await tracker.mark("s1", "briefed", [memory])  # the profile showed it: no use yet
    candidates, _ = await store.standing(None, 10)
    assert candidates == [(memory, 0)]
    await tracker.mark("s1", "injected", [memory])
    await tracker.mark("s2", "recalled", [memory])
    await tracker.mark("s2", "recalled", [memory])
    await tracker.mark("s2", "stored", [memory])
    candidates, _ = await store.standing(None, 10)
    assert candidates == [(memory, 3)]
    # Counts outlive the session rows (kept 7 days).
    clock.advance(RETENTION_MS + 1)
    await tracker.cleanup()
    assert (await store.standing(None, 10))[0] == [(memory, 3)]
