"""Building the approximate index's file (ivf.py) from `memory_vectors`: blocking, run in a
thread by the semantic leg, never on the event loop.

One read transaction streams the vectors a chunk at a time (so the float32 vectors are never
all in memory): each chunk is quantized to int8 into a scratch file next to the database, and
every few rows one joins the training sample. Spherical k-means on that sample gives the coarse
centroids (16 x sqrt(rows) lists, at most 4,096, in the space the query is searched in: the
projection's); each row then joins its nearest list, and the rows are written grouped by list
to a temporary file, renamed over the old one once complete. At a million rows: ~370 MB of
scratch and result on disk, about a minute of one core.
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from memoryd.semantic.index import Projection
from memoryd.semantic.ivf import Floats, Layout, Rowids, checksum, header, quantize

# About LISTS_PER_ROOT * sqrt(rows) lists, at most MAX_LISTS (reached at 65,536 rows). Finer
# lists find more of the true neighbours for the same share of rows scanned (measured on real
# embeddings, docs/benchmarks.md: with 8% of the lists probed, recall@10 against the exact
# search 0.944 with 4x, 0.979 with 16x at 6,204 vectors; 0.922 and 0.959 at 30,204), at the
# cost of a longer build (each row is compared with every centroid: 21 s of CPU instead of 6 at
# 100,000 rows; ~50 s at a million, capped either way) and of a few microseconds a list probed.
# More lists than MAX_LISTS would make the build at a million too slow.
LISTS_PER_ROOT = 16
MAX_LISTS = 4096
SAMPLE_PER_LIST = 32  # k-means trains on this many rows a list (at most all of them)
ITERATIONS = 10
CHUNK = 16384  # rows read, assigned and written at a time
PRODUCTS = 4_000_000  # row-by-centroid products computed at once (16 MB of float32)


class NothingToBuild(Exception):
    """No vectors of this model are stored."""


class BuildStopped(Exception):
    """The daemon is stopping (or the vectors were all dropped): the build gave up."""


def list_count(rows: int) -> int:
    """At 50,000 rows 3,578 lists of ~14 rows; from 65,536 on 4,096 (~244 rows at a million)."""
    return max(1, min(MAX_LISTS, round(LISTS_PER_ROOT * math.sqrt(rows))))


def searched_space(vectors: Floats, projection: Projection | None) -> Floats:
    """The rows as the projection compares them with a query: less the store's mean and top
    directions (index.Projection), at unit length."""
    kept = vectors
    if projection is not None:
        centred = vectors - projection.mean
        kept = (centred - (centred @ projection.components.T) @ projection.components).astype(
            np.float32
        )
    norms = np.maximum(np.linalg.norm(kept, axis=1, keepdims=True), 1e-6)
    out: Floats = (kept / norms).astype(np.float32)
    return out


def nearest_list(points: Floats, centroids: Floats) -> npt.NDArray[np.int32]:
    out = np.empty(len(points), np.int32)
    step = max(64, PRODUCTS // max(len(centroids), 1))  # a product of ~16 MB at a time
    for start in range(0, len(points), step):
        out[start : start + step] = np.argmax(points[start : start + step] @ centroids.T, 1)
    return out


def _sums(points: Floats, members: npt.NDArray[np.int32], lists: int) -> npt.NDArray[np.float64]:
    """Each list's sum of its members (sorting once; np.add.at is ~50x slower)."""
    order = np.argsort(members, kind="stable")
    counts = np.bincount(members, minlength=lists)
    sums = np.zeros((lists, points.shape[1]), np.float64)
    held = np.nonzero(counts)[0]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[held]
    sums[held] = np.add.reduceat(points[order].astype(np.float64), starts, axis=0)
    return sums


def train(sample: Floats, lists: int, rng: np.random.Generator) -> Floats:
    """Spherical k-means: centroids at unit length, each row in the list of the centroid it
    has the largest product with. A list left empty restarts at a random sample row."""
    lists = min(lists, len(sample))
    centroids = sample[rng.choice(len(sample), lists, replace=False)].copy()
    for _ in range(ITERATIONS):
        sums = _sums(sample, nearest_list(sample, centroids), lists)
        empty = ~np.any(sums != 0, axis=1)
        sums[empty] = sample[rng.choice(len(sample), int(empty.sum()))]
        norms = np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        centroids = (sums / norms).astype(np.float32)
    return centroids


def _chunks(conn: sqlite3.Connection, model: str, dims: int) -> Iterator[tuple[Rowids, Floats]]:
    cursor = conn.execute(
        "SELECT rowid, vector FROM memory_vectors WHERE model = ? ORDER BY rowid", (model,)
    )
    while batch := cursor.fetchmany(CHUNK):
        rowids = np.array([r[0] for r in batch], dtype=np.int64)
        vectors = np.frombuffer(b"".join(r[1] for r in batch), dtype=np.float32)
        yield rowids, vectors.reshape(len(batch), dims)


def private_file(path: Path, size: int) -> int:
    """A new file only we can read (0600), of `size` bytes; its descriptor."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600)
    os.ftruncate(fd, size)
    return fd


def remove_leftovers(target: Path) -> None:
    """What a build killed half-way (the daemon stopped) left: the files of processes gone.
    (Two daemons on one database, during a version handover, may each be building.)"""
    for leftover in target.parent.glob(f"{target.name}.*-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                os.kill(int(pid), 0)
                continue  # still running
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
        leftover.unlink(missing_ok=True)


def build(
    db_path: Path,
    target: Path,
    model: str,
    dims: int,
    projection: Projection | None,
    stop: threading.Event | None = None,
    seed: int = 0,
) -> int:
    """Write the index file of every stored vector of `model` to `target`; returns its rows.
    Raises NothingToBuild when there are none, BuildStopped once `stop` is set."""
    stop = stop or threading.Event()
    remove_leftovers(target)
    scratch = target.with_name(f"{target.name}.scratch-{os.getpid()}")
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("BEGIN")  # one snapshot: the count and the rows agree
        row = conn.execute(
            "SELECT COUNT(*) FROM memory_vectors WHERE model = ?", (model,)
        ).fetchone()
        rows = int(row[0]) if row else 0
        if rows == 0:
            raise NothingToBuild(model)
        lists = list_count(rows)
        step = max(1, rows // (lists * SAMPLE_PER_LIST))
        os.close(private_file(scratch, rows * dims))
        codes = np.memmap(scratch, dtype=np.int8, mode="r+", shape=(rows, dims))
        rowids = np.empty(rows, np.int64)
        scales = np.empty(rows, np.float32)
        sample = []
        done = 0
        for chunk_rowids, vectors in _chunks(conn, model, dims):
            if stop.is_set():
                raise BuildStopped
            end = done + len(chunk_rowids)
            codes[done:end], scales[done:end] = quantize(vectors)
            rowids[done:end] = chunk_rowids
            picked = np.arange(done, end) % step == 0
            sample.append(searched_space(vectors[picked], projection))
            done = end
        conn.execute("COMMIT")
        centroids = train(np.concatenate(sample), lists, np.random.default_rng(seed))
        assigned = np.empty(rows, np.int32)
        for start in range(0, rows, CHUNK):
            if stop.is_set():
                raise BuildStopped
            end = start + CHUNK
            block = codes[start:end].astype(np.float32) * scales[start:end, None]
            assigned[start:end] = nearest_list(searched_space(block, projection), centroids)
        write(target, model, centroids, rowids, assigned, scales, codes)
        return rows
    finally:
        conn.close()
        with contextlib.suppress(FileNotFoundError):
            scratch.unlink()


def write(
    target: Path,
    model: str,
    centroids: Floats,
    rowids: Rowids,
    assigned: npt.NDArray[np.int32],
    scales: Floats,
    codes: npt.NDArray[np.int8],
    moments: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
    trained: int | None = None,
) -> None:
    """Write the rows grouped by their list (`assigned`) to `target`, atomically. `moments`:
    the vectors' sum and second moment if known (ivf_fold), else computed on the way;
    `trained`: the rows the lists were made for (ivf_fold: the old file's), else these."""
    rows, dims = codes.shape
    layout = Layout(rows, len(centroids), dims)
    offsets = layout.arrays()
    order = np.argsort(assigned, kind="stable")
    counts = np.bincount(assigned, minlength=len(centroids))
    grouped = rowids[order]
    by_rowid = np.argsort(grouped, kind="stable")
    arrays: dict[str, np.ndarray] = {
        "centroids": centroids.astype("<f4"),
        "starts": np.concatenate([[0], np.cumsum(counts)]).astype("<i8"),
        "rowids": grouped.astype("<i8"),
        "scales": scales[order].astype("<f4"),
        "sorted_rowids": grouped[by_rowid].astype("<i8"),
        "sorted_slots": by_rowid.astype("<i8"),
        "total": np.zeros(dims, "<f8") if moments is None else moments[0].astype("<f8"),
        "moment": np.zeros((dims, dims), "<f8") if moments is None else moments[1].astype("<f8"),
    }
    temporary = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    fd = private_file(temporary, layout.size())
    try:
        codes_at = offsets["codes"][0]
        for start in range(0, rows, CHUNK):
            end = start + CHUNK
            block = np.asarray(codes[order[start:end]])
            os.pwrite(fd, block.tobytes(), codes_at + start * dims)
            if moments is None:
                vectors = block.astype(np.float32) * arrays["scales"][start:end, None]
                arrays["total"] += vectors.sum(axis=0, dtype=np.float64)
                arrays["moment"] += (vectors.T @ vectors).astype(np.float64)
        for name, array in arrays.items():
            os.pwrite(fd, np.ascontiguousarray(array).tobytes(), offsets[name][0])
        made_for = rows if trained is None else trained
        os.pwrite(fd, header(layout, model, checksum(arrays), made_for), 0)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(temporary, target)
