"""The approximate semantic index (memoryd/semantic/approx.py, ivf.py, keeper.py) on a real
migrated database, with its threshold lowered: it finds what the exact search finds on a
clustered set, masks what the database removed, finds a fresh vector at once, and rebuilds a
file that is damaged, missing or from another database instead of failing."""

from __future__ import annotations

import asyncio
import json
import os

import numpy as np
import pytest

from memoryd.semantic import approx, ivf, ivf_build, ivf_fold
from memoryd.semantic.approx import ApproxIndex
from memoryd.semantic.index import Projection, VectorIndex
from memoryd.semantic.ivf import IvfFile, SidecarInvalid, quantize
from memoryd.semantic.keeper import IndexKeeper
from memoryd.store.db import Database
from memoryd.store.memories import MemoryStore

DIMS = 48
ROWS = 3000
MODEL = "test-model"


def clustered(rows: int, seed: int = 5) -> np.ndarray:
    """Unit vectors around 60 topics: what sentence embeddings look like to an IVF."""
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(60, DIMS))
    vectors = topics[rng.integers(0, 60, rows)] + 0.35 * rng.normal(size=(rows, DIMS))
    out: np.ndarray = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    return out


async def put_vectors(db: Database, first: int, vectors: np.ndarray) -> None:
    async def job(conn: object) -> None:
        await conn.executemany(  # type: ignore[attr-defined]
            "INSERT INTO memory_vectors (rowid, model, vector) VALUES (?, ?, ?)",
            [(first + i, MODEL, v.tobytes()) for i, v in enumerate(vectors)],
        )

    await db.write(job)


async def drop_vectors(db: Database, rowids: list[int]) -> None:
    async def job(conn: object) -> None:
        await conn.executemany(  # type: ignore[attr-defined]
            "DELETE FROM memory_vectors WHERE rowid = ?", [(r,) for r in rowids]
        )

    await db.write(job)


async def built(keeper: IndexKeeper) -> ApproxIndex:
    """Run the keeper's upkeep until the build it starts is swapped in."""
    finished = asyncio.Event()
    await keeper.maintain(finished.set)
    await asyncio.wait_for(finished.wait(), 120)
    await keeper.maintain(finished.set)
    assert isinstance(keeper.index, ApproxIndex) and keeper.ready, keeper.build_error
    return keeper.index


async def loaded(db: Database) -> IndexKeeper:
    """A keeper as the leg has it once started: loaded, then its first sync's prune (which
    reconciles a file opened at start-up with the database)."""
    keeper = IndexKeeper(db, MODEL, DIMS, approx_min=1000)
    await keeper.load()
    await keeper.prune()
    return keeper


async def stored_and_loaded(db: Database) -> tuple[np.ndarray, IndexKeeper]:
    """A clustered store of ROWS vectors and a keeper loaded on it."""
    vectors = clustered(ROWS)
    await put_vectors(db, 1, vectors)
    return vectors, await loaded(db)


def exact_of(vectors: np.ndarray, projection: Projection | None) -> VectorIndex:
    exact = VectorIndex(DIMS)
    exact.put(list(range(1, len(vectors) + 1)), vectors)
    exact.projection = projection
    return exact


async def test_below_the_threshold_the_exact_index_serves_as_before(store: MemoryStore) -> None:
    await put_vectors(store.db, 1, clustered(900))
    keeper = await loaded(store.db)
    assert isinstance(keeper.index, VectorIndex) and len(keeper.index) == 900
    await keeper.maintain(lambda: None)
    assert keeper.describe() == "exact" and not keeper.sidecar.exists()


async def test_the_approximate_index_finds_the_exact_nearest_neighbours(
    store: MemoryStore,
) -> None:
    vectors, keeper = await stored_and_loaded(store.db)
    assert keeper.describe() == "approximate (building)"  # no file yet: lexical meanwhile
    projection = Projection.fit(vectors)
    keeper.index.projection = projection
    index = await built(keeper)
    assert keeper.sidecar.stat().st_mode & 0o777 == 0o600
    exact = exact_of(vectors, projection)
    rng = np.random.default_rng(2)
    overlap = []
    for row in rng.integers(0, ROWS, 50):
        query = vectors[row] + 0.2 * rng.normal(size=DIMS).astype(np.float32)
        query /= np.linalg.norm(query)
        want, got = exact.search(query, 10), index.search(query, 10)
        overlap.append(len({r for r, _ in want.top} & {r for r, _ in got.top}) / 10)
        # Any memory's similarity and the spread over the store match the exact ones.
        assert got.cosine(want.top[-1][0]) == pytest.approx(want.top[-1][1], abs=0.02)
        assert got.spread[2] == want.spread[2] == ROWS
        assert got.spread[1] == pytest.approx(want.spread[1], rel=0.02)
    assert np.mean(overlap) >= 0.95


async def test_deleted_vectors_never_come_back_and_fresh_ones_are_found_at_once(
    store: MemoryStore,
) -> None:
    vectors, keeper = await stored_and_loaded(store.db)
    index = await built(keeper)
    target = vectors[41]
    assert index.search(target, 1).top[0][0] == 42

    await drop_vectors(store.db, [42])  # what the triggers do on a delete or an edit
    await keeper.prune()
    hits = keeper.index.search(target, 10)
    assert 42 not in {r for r, _ in hits.top} and hits.cosine(42) is None
    assert len(keeper.index) == ROWS - 1

    fresh = clustered(1, seed=99)
    await put_vectors(store.db, 10_000, fresh)
    keeper.put([10_000], fresh)
    assert keeper.index.search(fresh[0], 1).top[0] == (10_000, pytest.approx(1.0, abs=1e-5))

    # A new start: the file still holds 42, the database does not; 10,000 is in the
    # database only. Neither is lost or resurrected.
    again = await loaded(store.db)
    assert again.ready and len(again.index) == ROWS
    assert 42 not in {r for r, _ in again.index.search(target, 10).top}
    assert again.index.search(fresh[0], 1).top[0][0] == 10_000


async def test_an_edited_vector_is_searched_by_its_new_value(store: MemoryStore) -> None:
    vectors, keeper = await stored_and_loaded(store.db)
    await built(keeper)
    moved = vectors[7:8] * -1  # row 8's new embedding, far from its old one
    keeper.put([8], moved)
    assert keeper.index.search(moved[0], 1).top[0][0] == 8
    assert 8 not in {r for r, _ in keeper.index.search(vectors[7], 10).top}
    assert len(keeper.index) == ROWS


@pytest.mark.parametrize("damage", ["missing", "truncated", "garbage", "flipped"])
async def test_a_damaged_or_missing_file_is_rebuilt(store: MemoryStore, damage: str) -> None:
    vectors, keeper = await stored_and_loaded(store.db)
    await built(keeper)
    path = keeper.sidecar
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        os.truncate(path, path.stat().st_size // 2)
    elif damage == "garbage":
        path.write_bytes(b"\x00not an index" * 100)
    else:  # a byte of the centroids changed: the checksum tells
        with open(path, "r+b") as file:
            file.seek(4096 + 10)
            file.write(b"\x7f")
    if damage != "missing":
        with pytest.raises(SidecarInvalid):
            IvfFile.open(path, MODEL, DIMS)
    again = await loaded(store.db)
    assert not again.ready  # recall is lexical until the build is done, never an error
    index = await built(again)
    assert index.search(vectors[3], 1).top[0][0] == 4


async def test_a_file_left_from_another_database_is_not_used(
    store: MemoryStore, tmp_path: object
) -> None:
    await put_vectors(store.db, 1, clustered(ROWS))
    keeper = await loaded(store.db)
    await built(keeper)
    # Same rowids, other vectors (a restored backup, another store copied over this one).
    other = clustered(ROWS, seed=11)
    await drop_vectors(store.db, list(range(1, ROWS + 1)))
    await put_vectors(store.db, 1, other)
    again = await loaded(store.db)
    assert not again.ready
    index = await built(again)
    assert index.search(other[5], 1).top[0][0] == 6


async def test_fresh_and_masked_rows_are_folded_into_a_new_file(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    vectors, keeper = await stored_and_loaded(store.db)
    first = await built(keeper)
    assert first.file is not None
    monkeypatch.setattr(approx, "FRESH_MIN", 10)
    fresh = clustered(80, seed=21)  # past 2% of the file's rows
    await put_vectors(store.db, 20_000, fresh)
    keeper.put(list(range(20_000, 20_080)), fresh)
    gone = list(range(1, 31))
    await drop_vectors(store.db, gone)
    await keeper.prune()
    moved = -vectors[99:100]
    keeper.put([100], moved)  # an edit: the file's row is masked, the new vector is fresh
    assert isinstance(keeper.index, ApproxIndex) and keeper.index.needs_rebuild()

    index = await built(keeper)
    assert index.file is not None and len(index.fresh) == 0 and index.masked_rows == 0
    assert index.file.rows == ROWS + 80 - 30
    # Folded: the lists are the old file's, not trained again.
    assert np.array_equal(index.file.centroids, first.file.centroids)
    assert index.search(fresh[4], 1).top[0][0] == 20_004
    assert index.search(moved[0], 1).top[0][0] == 100
    assert not {r for r, _ in index.search(vectors[5], 10).top} & set(gone)
    # The moments were carried over, not recomputed: they are still those of the live rows.
    live = np.concatenate([vectors[30:], fresh])
    live[99 - 30] = moved[0]
    codes, scales = quantize(live)
    stored = codes.astype(np.float32) * scales[:, None]
    assert np.allclose(index.file.total, stored.sum(0, dtype=np.float64), atol=1e-3)
    assert np.allclose(index.file.moment, stored.T.astype(np.float64) @ stored, atol=1e-3)
    exact = exact_of(live, index.projection)
    for query in (vectors[200], fresh[7], moved[0]):
        want, got = exact.search(query, 10).spread, index.search(query, 10).spread
        assert got[2] == want[2] and got[0] == pytest.approx(want[0], abs=2e-3)
        assert got[1] == pytest.approx(want[1], rel=0.02)


async def test_lists_are_made_again_once_the_store_outgrows_them_even_at_the_cap(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, keeper = await stored_and_loaded(store.db)
    file = (await built(keeper)).file
    assert file is not None and file.trained == ROWS
    # The list count has reached its cap: only the rows tell that the lists have grown stale.
    monkeypatch.setattr(ivf_build, "MAX_LISTS", file.layout.lists)
    assert ivf_fold.foldable(file, 2 * ROWS, masked=0)
    assert not ivf_fold.foldable(file, 3 * ROWS, masked=0)
    # A fold keeps the old lists, so it keeps the rows they were made for.
    fresh = clustered(ROWS, seed=41)
    target = keeper.sidecar.with_name("folded.vectors")
    no_rows = np.zeros(0, np.int64), np.zeros((0, DIMS), np.float32)
    ivf_fold.fold(file, target, MODEL, (np.arange(10_001, 10_001 + ROWS), fresh), no_rows, None)
    folded = IvfFile.open(target, MODEL, DIMS)
    assert folded.rows == 2 * ROWS and folded.trained == ROWS
    assert not ivf_fold.foldable(folded, 3 * ROWS, masked=0)


async def test_a_file_from_before_the_header_said_its_trained_rows_is_used_as_it_is(
    store: MemoryStore,
) -> None:
    _, keeper = await stored_and_loaded(store.db)
    await built(keeper)
    with keeper.sidecar.open("r+b") as raw:
        meta = json.loads(raw.read(ivf.HEADER))
        del meta["trained"]
        raw.seek(0)
        raw.write(json.dumps(meta).encode().ljust(ivf.HEADER, b" "))
    reopened = await loaded(store.db)
    assert isinstance(reopened.index, ApproxIndex) and reopened.index.file is not None
    assert reopened.index.file.trained == ROWS


async def test_a_vector_put_while_the_file_is_built_is_not_lost(store: MemoryStore) -> None:
    vectors, keeper = await stored_and_loaded(store.db)
    finished = asyncio.Event()
    await keeper.maintain(finished.set)  # the build starts from the database as it is now
    late = clustered(1, seed=31)
    await put_vectors(store.db, 50_000, late)
    keeper.put([50_000], late)  # embedded meanwhile: maybe in the file, surely in the index
    moved = -vectors[9:10]
    keeper.put([10], moved)  # and an edit: its new vector wins over the file's
    await asyncio.wait_for(finished.wait(), 120)
    await keeper.maintain(finished.set)
    index = keeper.index
    assert isinstance(index, ApproxIndex) and index.ready
    assert index.search(late[0], 1).top[0][0] == 50_000
    assert index.search(moved[0], 1).top[0][0] == 10
    assert 10 not in {r for r, _ in index.search(vectors[9], 10).top}


async def test_a_build_clears_what_a_killed_build_left_but_not_a_running_ones(
    store: MemoryStore,
) -> None:
    await put_vectors(store.db, 1, clustered(ROWS))
    keeper = await loaded(store.db)
    dead = keeper.sidecar.with_name(f"{keeper.sidecar.name}.scratch-{2**22 + 12345}")
    running = keeper.sidecar.with_name(f"{keeper.sidecar.name}.tmp-{os.getppid()}")
    dead.write_bytes(b"x" * 100)
    running.write_bytes(b"y" * 100)
    await built(keeper)
    assert not dead.exists() and running.exists()
