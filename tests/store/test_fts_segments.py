"""The full-text index kept in few segments (memoryd.store.fts_segments): merged into one once
worth it, with the same candidates and bm25 scores as before, and not again until enough was
written; in the background once the store is quiet; never on a disk without room for it."""

from __future__ import annotations

import logging
import os
import random
import shutil

import pytest

from memoryd.store import fts_segments
from memoryd.store.fts_segments import (
    IndexCompactor,
    Room,
    Structure,
    due,
    enough_room,
    parse_structure,
    room_beside,
)
from memoryd.store.memories import MemoryStore, NewMemory
from memoryd.store.recall import run_recall
from memoryd.store.records import RecallQuery
from tests.semantic.test_memory_use import wait_for

TOPICS = (
    "deploy helm chart cluster redis cache invoice billing svelte dashboard postgres "
    "migration retry backoff queue worker kafka nightly report tokens rotate vault staging "
    "canary rollout grafana alert latency budget"
)
WORDS = TOPICS.split(" ")
AMPLE = Room(free=1 << 40, store=0)


async def fill(store: MemoryStore, count: int, per_write: int, seed: int = 3) -> None:
    """`count` memories in writes of `per_write`: one index segment written per write."""
    rng = random.Random(seed)
    for start in range(0, count, per_write):
        batch = [
            NewMemory(content=f"note {n}: " + " ".join(rng.sample(WORDS, 6)))
            for n in range(start, min(count, start + per_write))
        ]
        await store.import_many(batch)


async def index_structure(store: MemoryStore) -> Structure:
    async with store.db.reader() as conn:
        return await fts_segments.structure(conn)


async def recalled(store: MemoryStore) -> list[list[tuple[str, float]]]:
    out = []
    for words in ("deploy helm cluster", "redis cache latency", "invoice billing report"):
        found = await run_recall(store.db, store.clock, None, RecallQuery(words, limit=20))
        out.append([(r.memory.id, r.score) for r in found])
    return out


def test_the_structure_record_is_read_in_both_formats() -> None:
    # cookie, levels 2, segments 3, written 300 (two bytes), then the levels (not read)
    v1 = b"\x00\x00\x00\x07" + bytes([2, 3, 0x82, 0x2C]) + b"\x00\x01"
    assert parse_structure(v1) == Structure(segments=3, written=300)
    v2 = b"\x00\x00\x00\x07" + b"\xff\x00\x00\x01" + bytes([2, 3, 0x82, 0x2C])
    assert parse_structure(v2) == Structure(segments=3, written=300)


def test_a_merge_is_due_for_a_large_index_in_segments_with_enough_written_since() -> None:
    rows = 10_000
    many = Structure(segments=7, written=10_000)
    assert due(many, rows, None)  # never merged since start
    assert not due(many, fts_segments.MIN_ROWS - 1, None)  # small: cheap to search anyway
    assert not due(Structure(segments=1, written=10_000), rows, None)
    # 0.2% of 10k rows: 20 transactions since the last merge
    assert not due(Structure(segments=4, written=10_019), rows, 10_000)
    assert due(Structure(segments=4, written=10_020), rows, 10_000)


async def test_a_merge_keeps_every_candidate_and_score(store: MemoryStore) -> None:
    await fill(store, fts_segments.MIN_ROWS + 200, per_write=40)
    before = await index_structure(store)
    assert before.segments >= 2
    found = await recalled(store)
    compactor = IndexCompactor(store.db.on_reader, store.db.write, lambda: AMPLE)
    assert await compactor.compact()
    assert (await index_structure(store)).segments == 1
    assert await recalled(store) == found
    assert not await compactor.compact()  # nothing written since
    await fill(store, fts_segments.MIN_WRITES * 3, per_write=1, seed=4)
    assert (await index_structure(store)).segments >= 2
    assert await compactor.compact()  # enough written since: merged again
    assert (await index_structure(store)).segments == 1


async def test_it_merges_in_the_background_once_the_store_is_quiet(store: MemoryStore) -> None:
    await fill(store, fts_segments.MIN_ROWS + 200, per_write=40)
    compactor = IndexCompactor(
        store.db.on_reader, store.db.write, lambda: room_beside(store.db.path), quiet_s=0.05
    )
    compactor.start()
    try:
        await wait_for(lambda: compactor.merges == 1)
        assert (await index_structure(store)).segments == 1
        # Writes wake it; it looks again once quiet, and two are not worth another merge.
        looked = compactor.looks
        await fill(store, 2, per_write=1, seed=5)
        compactor.written()
        await wait_for(lambda: compactor.looks > looked)
        assert compactor.merges == 1
    finally:
        await compactor.stop()


def test_a_merge_needs_the_stores_size_and_min_free_left_on_the_disk() -> None:
    store = 300 << 20
    assert enough_room(Room(free=store + fts_segments.MIN_FREE, store=store))
    assert not enough_room(Room(free=store + fts_segments.MIN_FREE - 1, store=store))
    assert not enough_room(Room(free=0, store=0))


async def test_no_merge_on_a_disk_without_room_for_it(
    store: MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    """The CI failure this was found by: a full disk freed, a merge in between took the room
    an import sent again needed (tests/daemon/test_full_disk.py). Said once, not per look."""
    await fill(store, fts_segments.MIN_ROWS + 200, per_write=40)
    before = await index_structure(store)
    tight = Room(free=fts_segments.MIN_FREE, store=8 << 20)
    room = [tight]
    compactor = IndexCompactor(store.db.on_reader, store.db.write, lambda: room[0])
    with caplog.at_level(logging.INFO, logger=fts_segments.__name__):
        assert not await compactor.compact()
        assert not await compactor.compact()
    told = [r.getMessage() for r in caplog.records if "left in" in r.getMessage()]
    assert len(told) == 1 and "64 MiB free on the disk" in told[0], told
    assert await index_structure(store) == before and compactor.merges == 0
    room[0] = Room(free=tight.free + tight.store, store=tight.store)  # room made
    assert await compactor.compact()
    assert (await index_structure(store)).segments == 1


async def test_the_room_is_the_disks_free_space_and_the_stores_files(store: MemoryStore) -> None:
    await fill(store, 200, per_write=40)
    path = store.db.path
    files = sum(os.stat(f"{path}{suffix}").st_size for suffix in ("", "-wal"))
    room = room_beside(path)
    assert room.store == files > 0
    free = shutil.disk_usage(path.parent).free
    assert abs(room.free - free) < 16 << 20  # the same disk (other writers may run meanwhile)
