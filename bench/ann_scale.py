"""The approximate semantic index at a million memories: build time, start-up, search latency,
the daemon's memory, and agreement with the exact search, on synthetic clustered vectors (the
search's cost does not depend on their values; embedding a million texts here takes hours:
bench/scale_semantic.py). Recall on real embeddings: bench/ann_recall.py.

Steps: a database with `memory_vectors` only (the leg's table and migration 15's index) of
--count vectors around 5,000 topics, cached in --dir; the index file built from it by the
daemon's own code (ivf_build.build, one BLAS thread); then, in a fresh process so that its
memory is the index's alone, what the daemon does at start (open the file, reconcile its
rowids with the database) and --queries searches through ApproxIndex (the call recall makes),
with VmRSS / RssAnon / RssFile before and after. Queries are stored vectors plus noise; the
exact top 10 is computed by brute force over the regenerated vectors, a chunk at a time.

    PYTHONPATH=. .venv/bin/python bench/ann_scale.py [--count 1000000] [--queries 200]
        [--share 0.08] [--rebuild] [--fold 20000]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the daemon sets it, before numpy

import argparse
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import machine, summary

from memoryd.semantic import ivf_build, ivf_fold
from memoryd.semantic.approx import PROBE_SHARE, ApproxIndex
from memoryd.semantic.index import Projection
from memoryd.semantic.ivf import IvfFile
from memoryd.semantic.keeper import sidecar_path, stored_rowids
from memoryd.semantic.leg import release_freed_memory

DIMS = 384
TOPICS = 5000
CHUNK = 100_000
MODEL = "synthetic"


def vectors(count: int, start: int) -> np.ndarray:
    """Rows start..start+CHUNK of the synthetic store (the same every time)."""
    centres = np.random.default_rng(7).normal(size=(TOPICS, DIMS)).astype(np.float32)
    rng = np.random.default_rng(1000 + start)
    size = min(CHUNK, count - start)
    rows = centres[rng.integers(0, TOPICS, size)] + 1.2 * rng.standard_normal(
        (size, DIMS), dtype=np.float32
    )
    out: np.ndarray = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def make_db(path: Path, count: int) -> None:
    if path.exists():
        return
    scratch = path.with_name(path.name + ".part")
    scratch.unlink(missing_ok=True)
    with sqlite3.connect(scratch) as conn:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute(
            "CREATE TABLE memory_vectors (rowid INTEGER PRIMARY KEY, model TEXT NOT NULL, "
            "vector BLOB NOT NULL)"
        )
        for start in range(0, count, CHUNK):
            block = vectors(count, start)
            conn.executemany(
                "INSERT INTO memory_vectors VALUES (?, ?, ?)",
                [(start + i + 1, MODEL, v.tobytes()) for i, v in enumerate(block)],
            )
        conn.execute("CREATE INDEX memory_vectors_model ON memory_vectors (model)")
    scratch.rename(path)


def projection_of(count: int) -> Projection | None:
    return Projection.fit(vectors(count, 0), rows=count)


def status() -> dict[str, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


def queries_near(count: int, queries: int) -> np.ndarray:
    """Stored vectors plus noise (each chunk of the store generated once)."""
    rng = np.random.default_rng(5)
    rows = np.sort(rng.integers(0, min(count, 3 * CHUNK), queries))
    picked = np.concatenate(
        [vectors(count, start)[rows[(rows >= start) & (rows < start + CHUNK)] - start]
         for start in range(0, min(count, 3 * CHUNK), CHUNK)]
    )  # fmt: skip
    noisy = picked + 0.5 * rng.standard_normal(picked.shape, dtype=np.float32) / np.sqrt(DIMS)
    out: np.ndarray = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    return out


def measure(db: Path, count: int, queries: int, share: float) -> None:
    """In a fresh process: start-up and searches, printed as one JSON line."""
    projection = projection_of(count)
    asked = list(queries_near(count, queries))
    release_freed_memory()
    before = status()
    started, cpu = time.perf_counter(), time.process_time()
    file = IvfFile.open(sidecar_path(db), MODEL, DIMS)
    stored = stored_rowids(db, MODEL)
    index = ApproxIndex(DIMS, file, share)
    index.projection = projection
    np.setdiff1d(index.live(), stored, assume_unique=True)  # the reconcile's work
    del stored
    release_freed_memory()  # as SemanticLeg.load does after it
    opened = (time.perf_counter() - started, time.process_time() - cpu)
    after_open = status()
    times, cpus, tops = [], [], []
    for query in asked:
        started, cpu = time.perf_counter(), time.process_time()
        hits = index.search(query, 20)
        times.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        tops.append([r for r, _ in hits.top[:10]])
    print(
        json.dumps(
            {
                "open_s": opened,
                "before": before,
                "after_open": after_open,
                "after_queries": status(),
                "nprobe": index.nprobe,
                "lists": file.layout.lists,
                "times": times,
                "cpus": cpus,
                "tops": tops,
                "queries": [q.tolist() for q in asked[:50]],
            }
        )
    )


def fold_time(db: Path, count: int, fresh_rows: int) -> None:
    """What the keeper does once fresh or masked rows pass their share: fold them into a new
    file (ivf_fold.fold), here to a scratch path beside it."""
    file = IvfFile.open(sidecar_path(db), MODEL, DIMS)
    index = ApproxIndex(DIMS, file)
    index.projection = projection_of(count)
    fresh = vectors(count, 0)[:fresh_rows]
    index.put(list(range(count + 1, count + 1 + len(fresh))), fresh)
    index.remove(set(range(1, fresh_rows // 4 + 1)))
    snapshot = index.snapshot()
    target = db.with_name(db.name + ".fold")
    started, cpu = time.perf_counter(), time.process_time()
    ivf_fold.fold(
        file,
        target,
        MODEL,
        (snapshot.fresh.rowids, snapshot.fresh.matrix),
        (snapshot.masked_slots, snapshot.masked_vectors),
        index.projection,
    )
    print(
        f"fold of {len(fresh):,} fresh and {fresh_rows // 4:,} masked rows: "
        f"{time.perf_counter() - started:.1f} s ({time.process_time() - cpu:.1f} s CPU); "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    target.unlink()


def exact_tops(count: int, queries: np.ndarray, projection: Projection | None) -> list[set[int]]:
    searched = np.stack([projection.query(q)[0] if projection is not None else q for q in queries])
    best = np.full((len(queries), 10), -np.inf, np.float32)
    ids = np.zeros((len(queries), 10), np.int64)
    for start in range(0, count, CHUNK):
        scores = searched @ vectors(count, start).T
        joined = np.concatenate([best, scores], axis=1)
        rowids = np.concatenate(
            [ids, np.broadcast_to(np.arange(start + 1, start + 1 + scores.shape[1]), scores.shape)],
            axis=1,
        )
        keep = np.argpartition(-joined, 9, axis=1)[:, :10]
        best = np.take_along_axis(joined, keep, 1)
        ids = np.take_along_axis(rowids, keep, 1)
    return [set(row.tolist()) for row in ids]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--share", type=float, default=PROBE_SHARE)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/memoryd-ann"))
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--fold",
        type=int,
        default=0,
        help="time folding this many fresh rows (and a quarter as many masked) into the file",
    )
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    db = args.dir / f"vectors-{args.count}.db"
    if args.measure:
        measure(db, args.count, args.queries, args.share)
        return
    print(machine(), flush=True)
    args.dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    make_db(db, args.count)
    print(f"database ready ({time.perf_counter() - started:.0f} s)", flush=True)
    target = sidecar_path(db)
    if args.rebuild or not target.exists():
        started, cpu = time.perf_counter(), time.process_time()
        ivf_build.build(db, target, MODEL, DIMS, projection_of(args.count))
        print(
            f"built {target.stat().st_size / 2**20:,.0f} MiB index file in "
            f"{time.perf_counter() - started:.1f} s ({time.process_time() - cpu:.1f} s CPU); "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    if args.fold:
        fold_time(db, args.count, args.fold)
    child = subprocess.run(
        [sys.executable, __file__, "--measure", f"--count={args.count}",
         f"--queries={args.queries}", f"--share={args.share}", f"--dir={args.dir}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result = json.loads(child.stdout)
    wall, cpu = result["open_s"]
    print(f"start-up (open the file, reconcile rowids): {wall:.2f} s ({cpu:.2f} s CPU)")
    for moment in ("before", "after_open", "after_queries"):
        shown = ", ".join(f"{k} {v:.0f} MiB" for k, v in result[moment].items())
        print(f"memory {moment.replace('_', ' ')}: {shown}")
    print(
        f"search at {args.count:,}, {result['nprobe']} of {result['lists']} lists: "
        f"{summary(result['times'])}"
    )
    print(f"  CPU a search: {summary(result['cpus'])}; load average {os.getloadavg()[0]:.1f}")
    asked = np.array(result["queries"], dtype=np.float32)
    truth = exact_tops(args.count, asked, projection_of(args.count))
    overlap = [len(set(t) & w) / 10 for t, w in zip(result["tops"], truth, strict=False)]
    print(f"recall@10 against the exact search ({len(truth)} queries): {np.mean(overlap):.3f}")


if __name__ == "__main__":
    main()
