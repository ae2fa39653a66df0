"""How close the approximate semantic index (memoryd/semantic/approx.py) comes to the exact
search, on real embeddings: the packaged model's vectors of every LoCoMo dialog turn (all ten
conversations, ../shared/data/locomo10.json) and the coding benchmark's memories, searched
with LoCoMo's questions and the coding prompts (query vectors from the same model, as recall
makes them). Random vectors have no clusters and would understate what an IVF finds.

Reports, for each share of the lists probed (nprobe): recall@10 and @20 (DENSE_POOL) of the
approximate top against the exact top (both after the same projection, as the daemon
searches), the share of rows scanned, and how far the spread it reports is from the exact one.

    PYTHONPATH=. .venv/bin/python bench/ann_recall.py [--share 0.04,0.08] [--lists N] [--also F.npz]

The embeddings are computed once (a few minutes on 2 cores) and cached in --cache.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the daemon sets it, before numpy

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import machine

from memoryd.semantic import ivf_build
from memoryd.semantic.approx import ApproxIndex
from memoryd.semantic.embedder import Embedder
from memoryd.semantic.index import Projection, VectorIndex
from memoryd.semantic.ivf import IvfFile

REPO = Path(__file__).resolve().parent.parent
LOCOMO = REPO.parent.parent / "shared" / "data" / "locomo10.json"
TIE = 0.005  # similarities this close to the exact 10th count as ties


def texts(locomo: Path) -> tuple[list[str], list[str]]:
    """Memories (dialog turns, coding memories) and queries (questions, coding prompts)."""
    memories, queries = [], []
    for sample in json.loads(locomo.read_text()):
        conversation = sample["conversation"]
        for key, turns in conversation.items():
            if key.startswith("session_") and isinstance(turns, list):
                memories += [f"{t['speaker']}: {t['text']}" for t in turns]
        queries += [qa["question"] for qa in sample["qa"]]
    coding = REPO / "bench" / "coding"
    for line in (coding / "memories.jsonl").read_text().splitlines():
        memories.append(json.loads(line)["content"])
    for line in (coding / "prompts.jsonl").read_text().splitlines():
        queries.append(json.loads(line)["text"])
    return memories, queries


def embeddings(cache: Path, locomo: Path) -> tuple[np.ndarray, np.ndarray]:
    if cache.exists():
        saved = np.load(cache)
        return saved["memories"], saved["queries"]
    memories, queries = texts(locomo)
    embedder = Embedder(threads=2)
    started = time.perf_counter()
    rows = np.concatenate(
        [embedder.embed(memories[i : i + 128]) for i in range(0, len(memories), 128)]
    )
    print(f"embedded {len(rows)} memories in {time.perf_counter() - started:.0f} s", flush=True)
    asked = np.stack([embedder.embed_query(q) for q in queries])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, memories=rows, queries=asked)
    return rows, asked


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--share", default="0.02,0.04,0.06,0.08,0.1,0.15")
    parser.add_argument("--lists", type=int, default=0, help="0: as the daemon chooses")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/memoryd-ann/embeddings.npz"))
    parser.add_argument("--locomo", type=Path, default=LOCOMO)
    parser.add_argument(
        "--also", type=Path, help="an .npz of more real vectors (memories, queries) to add"
    )
    args = parser.parse_args()
    print(machine(), flush=True)
    rows, queries = embeddings(args.cache, args.locomo)
    groups = {"LoCoMo questions": sum(len(s["qa"]) for s in json.loads(args.locomo.read_text()))}
    groups["coding prompts"] = len(queries) - groups["LoCoMo questions"]
    if args.also is not None:
        more = np.load(args.also)
        rows = np.concatenate([rows, more["memories"]])
        queries = np.concatenate([queries, more["queries"]])
        groups[args.also.stem] = len(more["queries"])
    dims = rows.shape[1]
    exact = VectorIndex(dims)
    exact.put(list(range(1, len(rows) + 1)), rows.astype(np.float32))
    exact.projection = Projection.fit(rows)
    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "v.db"
        with sqlite3.connect(db) as conn:
            conn.execute(
                "CREATE TABLE memory_vectors (rowid INTEGER PRIMARY KEY, model TEXT, vector BLOB)"
            )
            conn.executemany(
                "INSERT INTO memory_vectors VALUES (?, 'm', ?)",
                [(i + 1, v.astype(np.float32).tobytes()) for i, v in enumerate(rows)],
            )
        if args.lists:
            ivf_build.list_count = lambda _rows: args.lists  # type: ignore[assignment]
        started = time.perf_counter()
        target = Path(scratch) / "v.db.vectors"
        ivf_build.build(db, target, "m", dims, exact.projection)
        built = time.perf_counter() - started
        file = IvfFile.open(target, "m", dims)
        print(
            f"{len(rows)} memories, {len(queries)} queries, {file.layout.lists} lists, "
            f"built in {built:.1f} s",
            flush=True,
        )
        truth = [exact.search(q, 20) for q in queries]
        for share in (float(n) for n in args.share.split(",")):
            index = ApproxIndex(dims, file, share)
            nprobe = index.nprobe
            index.projection = exact.projection
            at10, at20, spread, tied = [], [], [], []
            started = time.perf_counter()
            for query, expected in zip(queries, truth, strict=True):
                hits = index.search(query, 20)
                got = [r for r, _ in hits.top]
                want = [r for r, _ in expected.top]
                at10.append(len(set(got[:10]) & set(want[:10])) / 10)
                # Near-duplicate memories tie: a result as similar as the exact 10th is as good.
                tenth = expected.top[min(9, len(expected.top) - 1)][1]
                tied.append(sum(s >= tenth - TIE for _, s in hits.top[:10]) / 10)
                at20.append(len(set(got) & set(want)) / 20)
                spread.append(abs(hits.spread[1] - expected.spread[1]) / expected.spread[1])
            took = (time.perf_counter() - started) / len(queries) * 1000
            sizes = np.diff(file.starts)
            scanned = nprobe * float(np.mean(sizes)) / len(rows)
            first, shares = 0, []
            for name, count in groups.items():
                shares.append(f"{name} {np.mean(at10[first : first + count]):.3f}")
                first += count
            print(
                f"share {share:.0%}, nprobe {nprobe:>3}: recall@10 {np.mean(at10):.3f} "
                f"({'; '.join(shares)}) "
                f"(min {np.min(at10):.1f}; counting ties {np.mean(tied):.3f}), "
                f"@20 {np.mean(at20):.3f}; ~{scanned:.1%} of rows scanned; spread off by "
                f"{np.mean(spread):.2%}; {took:.2f} ms a search",
                flush=True,
            )


if __name__ == "__main__":
    main()
