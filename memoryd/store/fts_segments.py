"""Keeping the full-text index in few segments.

FTS5 writes each transaction's new postings as a segment of its own and merges them four at a
time as they pile up (its `automerge`), so an index holds several segments, one or more per
size: 7 after 10,000 memories stored one by one. Every word a statement looks up is looked up
in every segment, and a prompt hook's recall looks up a dozen words in four statements: at 10k
memories, merging the 7 segments into one cut the daemon's CPU per prompt by ~0.3 ms of ~3.8
(bench/daemon_cpu.py, docs/benchmarks.md), with the same rows and bm25 scores.

So once the store has been quiet for QUIET_S after writes (and once after start), the index is
merged into one segment if it is worth it: at least MIN_ROWS rows, two or more segments, and
enough transactions written into it since the last merge (`due`). A merge rewrites the whole
index (~15 ms of CPU at 10k memories, ~1.5 ms a thousand), so it is paid once per share of new
writes (WRITE_SHARE: ~0.75 ms of the writer's thread per memory written, whatever the size),
not per write; in between, FTS5's own merging keeps the new segments few. It runs as FTS5's
incremental merge, MERGE_PAGES pages a step, each step a write of its own queued behind the
others: a step holds the writer for a few milliseconds, and readers never wait (WAL). A step
that fails (a full disk) ends this round: the index stays as it was, correct, only slower.

A merge also needs room on the disk: it writes a second copy of the index (into the WAL, then
into the file, where the old segments' pages are left free for later writes), so the file can
grow by up to the index's size once. It runs only while the disk keeps MIN_FREE beside the
store's whole size after it (`enough_room`): a merge is only speed, and the room on a nearly
full disk belongs to the user's own memories (an import completed after a full disk was freed
failed for the room a merge had taken in between).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from memoryd.store.word_counts import indexed_rows, varint_at
from memoryd.tasks import cancel_and_wait

log = logging.getLogger(__name__)

QUIET_S = 2.0  # after a write, the store must be this quiet before the index is looked at
MIN_ROWS = 1_000  # a smaller index is cheap to search whatever its segments
MIN_WRITES = 4  # transactions written into the index since the last merge, at the least...
WRITE_SHARE = 0.002  # ... or this share of its rows, whichever is more
MERGE_PAGES = 250  # pages of merged index written per step (~4 ms of CPU)
MIN_FREE = 64 * 1024 * 1024  # room a merge leaves on the disk beside the store's size
MAX_STEPS = 100_000  # a merge stops here whatever happens (~100 GB of index at 4 KiB pages)

# FTS5 keeps the index's structure at rowid 10 of its %_data table (fts5_index.c,
# FTS5_STRUCTURE_ROWID): a 4-byte cookie, then (in the version-2 format, after a 4-byte marker)
# varints: levels, segments, and a counter of the segments ever written.
_STRUCTURE = "SELECT block FROM memories_fts_data WHERE id = 10"
_V2_MARKER = b"\xff\x00\x00\x01"
_MERGE = "INSERT INTO memories_fts (memories_fts, rank) VALUES ('merge', ?)"


@dataclass(frozen=True)
class Structure:
    segments: int
    written: int  # segments written so far: one per transaction that touched the index


def _varints(block: bytes, count: int) -> list[int]:
    """The first `count` of SQLite's variable-length integers in `block`."""
    values, at = [], 0
    for _ in range(count):
        value, at = varint_at(block, at)
        values.append(value)
    return values


def parse_structure(block: bytes) -> Structure:
    """The segment counts of a structure record (see _STRUCTURE)."""
    body = block[4:]
    if body[:4] == _V2_MARKER:
        body = body[4:]
    _levels, segments, written = _varints(body, 3)
    return Structure(segments, written)


async def structure(conn: aiosqlite.Connection) -> Structure:
    rows = list(await conn.execute_fetchall(_STRUCTURE))
    if not rows or not rows[0][0]:
        return Structure(0, 0)
    return parse_structure(bytes(rows[0][0]))


def due(found: Structure, rows: int, written_at_merge: int | None) -> bool:
    """Whether the index is worth merging (see the module's docstring); `written_at_merge`:
    the structure's `written` after the last merge, None when none ran since start."""
    if rows < MIN_ROWS or found.segments < 2:
        return False
    if written_at_merge is None:
        return True
    return found.written - written_at_merge >= max(MIN_WRITES, math.ceil(rows * WRITE_SHARE))


@dataclass(frozen=True)
class Room:
    free: int  # bytes free on the store's disk, for this user
    store: int  # bytes of the store: the database file and its WAL


def room_beside(path: Path) -> Room:
    """The room on the disk of the database at `path`, and the store's own size."""
    store = 0
    for suffix in ("", "-wal"):
        with contextlib.suppress(FileNotFoundError):
            store += Path(f"{path}{suffix}").stat().st_size
    return Room(free=shutil.disk_usage(path.parent).free, store=store)


def enough_room(room: Room) -> bool:
    """Whether a merge (at most the store's size written) still leaves MIN_FREE on the disk."""
    return room.free >= room.store + MIN_FREE


# Runs a job on a connection: Database.on_reader, Database.write.
Run = Callable[[Callable[[aiosqlite.Connection], Awaitable[Any]]], Awaitable[Any]]


class IndexCompactor:
    """Merges the index's segments when the store is quiet (see the module's docstring).
    `written()` is told of every write; `read` runs a job on a reader, `write` one on the
    writer (Database.write); `room` measures the disk (room_beside)."""

    def __init__(
        self,
        read: Run,
        write: Run,
        room: Callable[[], Room],
        quiet_s: float = QUIET_S,
    ) -> None:
        self._read = read
        self._write = write
        self._room = room
        self._quiet_s = quiet_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._written_at_merge: int | None = None
        self._short_of_room = False  # said once, not after every write on a nearly full disk
        self.looks = 0  # times it looked whether a merge was due (for tests)
        self.merges = 0  # merges completed

    def start(self) -> None:
        if self._task is None:
            self._wake.set()  # once after start: a store left in many segments
            self._task = asyncio.create_task(self._run(), name="memoryd-fts-segments")

    def written(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            # Quiet: each write while waiting starts the wait again.
            while self._wake.is_set():
                self._wake.clear()
                await asyncio.sleep(self._quiet_s)
            try:
                await self.compact()
            except Exception as exc:  # a full disk, a damaged file: the index stays as it is
                log.warning("the full-text index was not merged: %s", exc)

    async def compact(self) -> bool:
        """Merge the index into one segment if it is `due`; whether it did."""

        async def look(conn: aiosqlite.Connection) -> tuple[Structure, int]:
            return await structure(conn), await indexed_rows(conn)

        found, rows = await self._read(look)
        self.looks += 1
        if not due(found, rows, self._written_at_merge):
            return False
        room = await asyncio.to_thread(self._room)
        if not enough_room(room):
            if not self._short_of_room:
                log.info(
                    "full-text index left in %d segments: %d MiB free on the disk, a merge "
                    "needs the store's %d MiB and %d MiB more",
                    found.segments,
                    room.free >> 20,
                    room.store >> 20,
                    MIN_FREE >> 20,
                )
            self._short_of_room = True
            return False
        self._short_of_room = False
        for _ in range(MAX_STEPS):
            after, progressed = await self._write(_merge_step)
            if after.segments <= 1 or not progressed:
                break
        self._written_at_merge = after.written
        self.merges += 1
        log.info("full-text index merged: %d segments into 1 (%d rows)", found.segments, rows)
        return True


async def _merge_step(conn: aiosqlite.Connection) -> tuple[Structure, bool]:
    """One step of the merge: the structure after it, and whether it wrote anything (a step
    with nothing left to merge writes no page; the loop stops there whatever the count says)."""
    before = conn.total_changes
    await conn.execute(_MERGE, (-MERGE_PAGES,))
    return await structure(conn), conn.total_changes - before > 1
