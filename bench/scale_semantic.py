"""The semantic leg at scale, in parts, since embedding a million memories on this machine
takes hours (measured here, then extrapolated):

- embedding throughput: the daemon's own `Embedder` (2 threads, batches of the leg's size) on
  the scale corpus's texts;
- the dense search at N memories: the daemon's own `VectorIndex` filled with N random unit
  vectors (the search cost does not depend on their values) and fitted, one BLAS thread as the
  daemon runs it (OPENBLAS_NUM_THREADS=1), the same call recall makes;
- what the vectors weigh: N x dimensions x 4 bytes, in memory_vectors and in the daemon.

    .venv/bin/python bench/scale_semantic.py [--sizes 100000,1000000] [--texts 512]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the daemon sets it, before numpy

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import machine, summary
from scale_corpus import Corpus

from memoryd.semantic.embedder import Embedder
from memoryd.semantic.index import Projection, VectorIndex
from memoryd.semantic.leg import BATCH


def embedding_rate(count: int) -> float:
    texts = [m.content for m in Corpus().memories(count)]
    embedder = Embedder(threads=2)
    embedder.embed(texts[:BATCH])  # load the session
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        embedder.embed(texts[start : start + BATCH])
    return count / (time.perf_counter() - started)


def search_times(size: int, dimensions: int, queries: int) -> list[float]:
    rng = np.random.default_rng(3)
    index = VectorIndex(dimensions)
    step = 100_000
    for start in range(0, size, step):
        block = rng.standard_normal((min(step, size - start), dimensions), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        index.put(list(range(start, start + len(block))), block)
    index.projection = Projection.fit(index.snapshot().matrix)
    times = []
    for _ in range(queries):
        query = rng.standard_normal(dimensions, dtype=np.float32)
        query /= np.linalg.norm(query)
        started = time.perf_counter()
        index.search(query, 20)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    print(machine(), flush=True)
    rate = embedding_rate(args.texts)
    print(
        f"embedding: {rate:.0f} memories/s on 2 threads; 1,000,000 would take "
        f"{1_000_000 / rate / 3600:.1f} h",
        flush=True,
    )
    dimensions = 384
    for size in (int(s) for s in args.sizes.split(",")):
        times = search_times(size, dimensions, args.queries)
        print(
            f"dense search at {size:>9,}: {summary(times)}; "
            f"vectors {size * dimensions * 4 / 2**20:,.0f} MiB",
            flush=True,
        )


if __name__ == "__main__":
    main()
