"""The dense leg's own CPU per prompt hook query, in process, and whether two source trees give
the same hits: the static query embedding, the exact search over 10k x 384 random unit vectors
(with the index's projection), the spread and 60 candidates' cosines, as a prompt hook's
recall takes them, on bench/daemon_cpu.py's kind of prompt; one thread, its CPU time.

    .venv/bin/python bench/dense_cpu.py [--rounds 3] [TREE ...]

Each TREE (default: this checkout) is a source tree run in a child process, in turn each round.
Printed per tree: the CPU per query, of it the embedding alone, the product alone (the matrix
by the projected query: memory-bound, the same in every tree) and the rest; and a digest of
every query's hits (top list, spread, cosines): a cut meant to change nothing must keep it.
The static table comes from the cache (built there, ~17 s, if missing).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the daemon runs numpy

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).resolve().parent
ROWS, DIMS, NEAREST, CANDIDATES, WARM_UP = 10_000, 384, 50, 60, 80


def child(prompts: int) -> dict[str, float | str]:
    from memory_core.config import Settings
    from memoryd.semantic import static
    from memoryd.semantic.embedder import MAX_QUERY_TOKENS, load_tokenizer
    from memoryd.semantic.index import Projection, VectorIndex
    from memoryd.semantic.model import packaged

    # The tree's code, not this checkout's (installed in the venv): imported before
    # hook_latency, which puts this checkout first on the path.
    assert Path(static.__file__).resolve().is_relative_to(Path.cwd().resolve())
    sys.path.insert(0, str(HERE))
    import hook_latency as hl

    model = packaged()
    path = static.cached_table(Settings().cache_dir, model)
    if not path.exists():
        static.write_table(path, model.sha256, static.build_table(model))
    queries = static.StaticQueries(
        static.read_table(path, model.sha256), load_tokenizer(model, MAX_QUERY_TOKENS)
    )
    rng, vectors = random.Random(7), np.random.default_rng(1)
    rare = hl.vocabulary(rng)

    def text() -> str:
        words = [rng.choice(hl.COMMON) for _ in range(2)] + [rng.choice(rare) for _ in range(3)]
        return "how do we handle the " + " and ".join(words) + " here?"

    def units(rows: int) -> npt.NDArray[np.float32]:
        out = vectors.standard_normal((rows, DIMS)).astype(np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out

    sample = [f"{text()} {' '.join(rng.choice(rare) for _ in range(20))}" for _ in range(4096)]
    queries.map = queries.fit(sample, units(4096), ROWS)
    index = VectorIndex(DIMS)
    index.put(list(range(1, ROWS + 1)), units(ROWS))
    index.projection = Projection.fit(index.fit_input()[0], rows=ROWS)
    snapshot = index.snapshot()
    texts = [text() for _ in range(WARM_UP + prompts)]
    candidates = list(range(1, ROWS + 1, ROWS // CANDIDATES))[:CANDIDATES]

    def hook(batch: list[str]) -> list[object]:
        said: list[object] = []
        for prompt in batch:
            query = queries.embed(prompt)
            assert query is not None
            hits = snapshot.search(query, NEAREST)
            said.append((hits.top, hits.spread, [hits.cosine(r) for r in candidates]))
        return said

    def cpu_us(work: Callable[[], object]) -> float:
        started = time.thread_time()
        work()
        return (time.thread_time() - started) / prompts * 1e6

    hook(texts[:WARM_UP])
    said: list[object] = []
    total = cpu_us(lambda: said.extend(hook(texts[WARM_UP:])))
    embed = cpu_us(lambda: [queries.embed(t) for t in texts[WARM_UP:]])
    query, projection = queries.embed(texts[0]), snapshot.projection
    assert query is not None and projection is not None
    projected = projection.query(query)[0]
    product = cpu_us(lambda: [snapshot.matrix @ projected for _ in range(prompts)])
    digest = hashlib.sha256(pickle.dumps(said)).hexdigest()[:16]
    return {"total": total, "embed": embed, "product": product, "digest": digest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", type=Path, default=[HERE.parent])
    parser.add_argument("--prompts", type=int, default=800)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.prompts)))
        return
    runs: dict[Path, list[dict[str, float | str]]] = {tree: [] for tree in args.trees}
    for _ in range(args.rounds):
        for tree in args.trees:
            out = subprocess.run(
                [sys.executable, __file__, "--child", "--prompts", str(args.prompts)],
                env={**os.environ, "PYTHONPATH": str(tree.resolve())},
                cwd=tree,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            runs[tree].append(json.loads(out.splitlines()[-1]))
    first = runs[args.trees[0]][0]["digest"]
    for tree, figures in runs.items():
        print(
            f"{tree}: dense CPU us per query "
            + ", ".join(
                f"{total:.0f} (embed {r['embed']:.0f}, product {product:.0f}, "
                f"rest {total - product:.0f})"
                for r in figures
                for total, product in [(float(r["total"]), float(r["product"]))]
            )
            + f"; hits as the first tree's: {all(r['digest'] == first for r in figures)}"
        )


if __name__ == "__main__":
    main()
