"""Compaction markers and session tracking, in-process on a real store with a hand-moved clock."""

from __future__ import annotations

from memoryd.sessions.markers import MAX_AGE_MS, CompactionMarkers
from memoryd.sessions.tracker import RETENTION_MS, SessionTracker
from memoryd.store.memories import MemoryStore, NewMemory, Patch
from tests.conftest import FakeClock


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
