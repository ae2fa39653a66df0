"""Would prompts that arrive together (8 sessions' prompt hooks at once) cost the daemon less if
their semantic work were batched? In process, on the coding benchmark's prompts (their text
only), one thread, the CPU of:

- the query embedding (the int8 query model the daemon uses), one prompt at a time against
  batches of 8, and how far a batched vector is from the same prompt's vector alone (the int8
  model quantizes its activations with one scale for the whole batch, so a prompt's vector
  depends on the prompts beside it);
- the search over 10k random unit vectors (the index's exact product, with its projection),
  one query at a time against one product for 8 queries.

    .venv/bin/python bench/query_batching.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the daemon runs numpy

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from memory_core.config import Settings  # noqa: E402
from memoryd.semantic import quantize  # noqa: E402
from memoryd.semantic.embedder import Embedder, Vectors  # noqa: E402
from memoryd.semantic.index import Projection, VectorIndex  # noqa: E402

GROUP = 8
SIZE = 10_000


def cpu_ms_per_item(work: Callable[[], object], items: int, rounds: int) -> float:
    """The least CPU of `rounds` runs of `work`, per item (this thread's time only)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.thread_time()
        work()
        best = min(best, time.thread_time() - started)
    return best / items * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    lines = (REPO / "bench" / "coding" / "prompts.jsonl").read_text().splitlines()
    texts = [json.loads(line)["text"] for line in lines if line.strip()]
    texts = texts[: len(texts) // GROUP * GROUP]
    groups = [texts[i : i + GROUP] for i in range(0, len(texts), GROUP)]

    embedder = Embedder()
    embedder.use_for_queries(asyncio.run(quantize.ensure(Settings().cache_dir, embedder.model)))
    session, tokenizer = embedder._queries, embedder._query_tokenizer
    assert session is not None

    def alone() -> Vectors:
        return np.stack([embedder.embed_query(t) for t in texts])

    def batched() -> Vectors:
        return np.concatenate([embedder._run(session, g, tokenizer) for g in groups])

    one_ms = cpu_ms_per_item(alone, len(texts), args.rounds)
    batch_ms = cpu_ms_per_item(batched, len(texts), args.rounds)
    cosines = (alone() * batched()).sum(axis=1)
    print(f"{len(texts)} prompts, int8 query model ({embedder.query_model})")
    print(f"embedding, one at a time: {one_ms:.2f} ms of CPU per prompt")
    print(f"embedding, batches of {GROUP}: {batch_ms:.2f} ms of CPU per prompt")
    print(
        f"batched vs alone, cosine: min {cosines.min():.4f}, mean {cosines.mean():.4f}; "
        f"identical vectors: {int((cosines > 1 - 1e-6).sum())} of {len(texts)}"
    )

    index = VectorIndex(embedder.dimensions)
    rows = np.random.default_rng(1).standard_normal((SIZE, embedder.dimensions))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    index.put(list(range(1, SIZE + 1)), rows.astype(np.float32))
    snapshot = index.snapshot()
    index.projection = Projection.fit(snapshot.matrix)
    snapshot = index.snapshot()
    queries = alone()

    def searched_alone() -> None:
        for query in queries:
            snapshot.search(query, 20).spread  # noqa: B018  # the floor reads it

    def product_together() -> None:
        for start in range(0, len(queries), GROUP):
            snapshot.matrix @ queries[start : start + GROUP].T

    def product_alone() -> None:
        for query in queries:
            snapshot.matrix @ query

    print(
        f"search over {SIZE} vectors, one at a time: "
        f"{cpu_ms_per_item(searched_alone, len(queries), args.rounds):.3f} ms per query "
        f"(the product alone {cpu_ms_per_item(product_alone, len(queries), args.rounds):.3f})"
    )
    print(
        f"the product for {GROUP} queries at once: "
        f"{cpu_ms_per_item(product_together, len(queries), args.rounds):.3f} ms per query"
    )


if __name__ == "__main__":
    main()
