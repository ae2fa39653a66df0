"""What the prompt hook answers from memory instead of the database: the compaction markers,
the sessions that have marks, and the project of a working directory (memoryd.sessions),
in-process on a real store with a hand-moved clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosqlite

from memoryd.sessions.deferred import DeferredRows, Job
from memoryd.sessions.markers import MAX_AGE_MS, CompactionMarkers
from memoryd.sessions.project import ProjectMemo
from memoryd.sessions.tracker import RETENTION_MS, SessionTracker
from memoryd.store.memories import MemoryStore, NewMemory
from memoryd.store.records import Patch
from tests.conftest import FakeClock
from tests.hooks.store_held import readers_held, writer_held


async def test_markers_saved_before_the_daemon_started_are_found(
    store: MemoryStore, clock: FakeClock
) -> None:
    await CompactionMarkers(store.db, clock).save("s1", ["a"], None)
    clock.advance(MAX_AGE_MS)
    restarted = CompactionMarkers(store.db, clock)
    assert await restarted.pending("s1")
    assert not await restarted.pending("s2")
    clock.advance(1)
    assert not await restarted.pending("s1")  # over a day old: as the table's created_ms said


async def test_marker_writes_committed_during_the_first_read_are_kept(
    store: MemoryStore, clock: FakeClock
) -> None:
    before = CompactionMarkers(store.db, clock)
    await before.save("taken", ["a"], None)
    await before.save("kept", ["b"], None)
    markers = CompactionMarkers(store.db, clock)
    async with readers_held(store.db):
        first = asyncio.create_task(markers.pending("kept"))
        await markers.save("new", ["c"], None)
        assert await markers.take("taken") == ["a"]
    assert await first
    assert await markers.pending("new")
    assert not await markers.pending("taken")
    clock.advance(MAX_AGE_MS // 2)
    await markers.save("young", ["d"], None)
    clock.advance(MAX_AGE_MS // 2 + 1)
    assert await markers.cleanup() == 2  # "kept" and "new"
    assert not await markers.pending("kept") and not await markers.pending("new")
    assert await markers.pending("young")


async def test_marks_written_before_the_daemon_started_dedup(
    store: MemoryStore, clock: FakeClock
) -> None:
    memory = (await store.create(NewMemory("Staging deploys from the main branch"))).memory
    await SessionTracker(store.db, clock).mark("s", "injected", [memory])
    restarted = SessionTracker(store.db, clock)
    assert await restarted.fresh("s", [memory]) == []
    assert await restarted.fresh("new", [memory]) == [memory]


async def test_a_session_noted_during_the_first_read_dedups(
    store: MemoryStore, clock: FakeClock
) -> None:
    memory = (await store.create(NewMemory("Payments retry three times"))).memory
    tracker = SessionTracker(store.db, clock)
    async with writer_held(store):  # the noted row is written after the read
        async with readers_held(store.db):
            first = asyncio.create_task(tracker.fresh("s", [memory]))
            for _ in range(2):  # yields: the read of the sessions starts, and waits
                await asyncio.sleep(0)
            tracker.note("t", "injected", [memory])
        assert await first == [memory]
    await tracker.flush()
    assert await tracker.fresh("t", [memory]) == []  # from the table now


async def test_after_a_cleanup_the_sessions_are_read_again(
    store: MemoryStore, clock: FakeClock
) -> None:
    memory = (await store.create(NewMemory("Logs are kept for 30 days"))).memory
    tracker = SessionTracker(store.db, clock)
    await tracker.mark("old", "injected", [memory])
    clock.advance(RETENTION_MS + 1)
    await tracker.mark("young", "injected", [memory])
    assert await tracker.cleanup() == 1
    assert await tracker.fresh("old", [memory]) == [memory]
    assert await tracker.fresh("young", [memory]) == []


def test_a_repository_made_after_the_memo_names_the_project_once_it_expires(
    tmp_path: Path, clock: FakeClock
) -> None:
    """`git init` above a directory: the prompts of the next PROJECT_MEMO_MS still name the
    directory (the answer the memo holds), the ones after name the repository."""
    src = tmp_path / "shopfront" / "src"
    src.mkdir(parents=True)
    projects = ProjectMemo(clock, lifetime_ms=2_000)
    assert projects(str(src)) == "src"
    (tmp_path / "shopfront" / ".git").mkdir()
    clock.advance(1_999)
    assert projects(str(src)) == "src"
    clock.advance(1)
    assert projects(str(src)) == "shopfront"
    (tmp_path / "shopfront" / ".git").rmdir()
    clock.advance(-10_000)  # a clock set back does not keep the answer
    assert projects(str(src)) == "src"


def test_the_memo_keeps_a_bounded_number_of_directories(tmp_path: Path, clock: FakeClock) -> None:
    projects = ProjectMemo(clock, size=2)
    for name in ("a", "b", "c"):
        assert projects(str(tmp_path / name)) == name
    (tmp_path / ".git").mkdir()  # seen by "a" once it is asked again: it was dropped
    assert projects(str(tmp_path / "a")) == tmp_path.name
    assert projects(str(tmp_path / "c")) == "c"


async def test_a_session_read_once_is_answered_from_memory(
    store: MemoryStore, clock: FakeClock
) -> None:
    memory = (await store.create(NewMemory("Feature flags live in LaunchDarkly"))).memory
    other = (await store.create(NewMemory("Feature flags are cleaned up monthly"))).memory
    await SessionTracker(store.db, clock).mark("s", "injected", [memory])
    tracker = SessionTracker(store.db, clock)
    assert await tracker.fresh("s", [memory, other]) == [other]  # read from the table
    tracker.note("s", "injected", [other])
    async with readers_held(store.db):
        answer = asyncio.create_task(tracker.fresh("s", [memory, other]))
        await asyncio.sleep(0)  # a yield: an answer from memory needs no reader
        assert answer.done() and answer.result() == []


async def test_marks_noted_while_a_session_is_read_dedup(
    store: MemoryStore, clock: FakeClock
) -> None:
    memory = (await store.create(NewMemory("The cache is Redis 7"))).memory
    other = (await store.create(NewMemory("The cache evicts with allkeys-lru"))).memory
    await SessionTracker(store.db, clock).mark("s", "injected", [memory])
    tracker = SessionTracker(store.db, clock)
    assert await tracker.fresh("t", [memory]) == [memory]  # the sessions with marks, read
    async with writer_held(store):  # the note below is written after the read
        async with readers_held(store.db):
            first = asyncio.create_task(tracker.fresh("s", [memory]))
            for _ in range(2):  # yields: the read of the session starts, and waits
                await asyncio.sleep(0)
            tracker.note("s", "injected", [other])
        assert await first == []
        assert await tracker.fresh("s", [other]) == []
    await tracker.flush()
    assert await tracker.fresh("s", [memory, other]) == []


async def test_a_version_marked_after_a_newer_one_is_read_back_as_memory_holds_it(
    store: MemoryStore, clock: FakeClock
) -> None:
    """The table keeps the newest version a session saw, as memory does: a mark of an older
    version (a request that read it before an update, written after) used to overwrite the
    row, and a restarted daemon injected the memory the session had seen again."""
    older = (await store.create(NewMemory("Releases are cut on Thursdays"))).memory
    clock.advance(1_000)
    newer = await store.update(older.id, Patch(content="Releases are cut on Wednesdays"))
    assert newer.updated_ms > older.updated_ms
    tracker = SessionTracker(store.db, clock)
    await tracker.mark("s", "injected", [newer])
    await tracker.mark("s", "injected", [older])
    assert await tracker.fresh("s", [newer]) == []  # from memory
    assert await SessionTracker(store.db, clock).fresh("s", [newer]) == []  # from the table


async def test_forgetting_the_injected_forgets_them_in_memory_too(
    store: MemoryStore, clock: FakeClock
) -> None:
    shown = (await store.create(NewMemory("On-call rotates weekly"))).memory
    stored = (await store.create(NewMemory("Pager duty starts at 9"))).memory
    tracker = SessionTracker(store.db, clock)
    await tracker.mark("s", "injected", [shown])
    await tracker.mark("s", "stored", [stored])
    assert await tracker.fresh("s", [shown, stored]) == []
    await tracker.forget_injected("s")  # the context was compacted or cleared
    assert await tracker.fresh("s", [shown, stored]) == [shown]


async def test_rows_a_failed_write_lost_are_told(store: MemoryStore) -> None:
    lost: list[list[str]] = []

    def failing(rows: list[str]) -> Job:
        async def job(conn: aiosqlite.Connection) -> None:
            raise RuntimeError("the disk went away")

        return job

    rows = DeferredRows(store.db, failing, "test rows", lost=lost.append)
    rows.add(["a", "b"])
    await rows.flush()
    assert lost == [["a", "b"]] and rows.pending() == 0
