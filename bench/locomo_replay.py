"""LoCoMo recall replayed in process, for tuning the ranking on the dev conversations fast.

The daemon's own parts, without the socket: a real `MemoryStore` per conversation (the turns
imported as bench/locomo.py imports them), `run_recall`, and the semantic leg's index with the
turns' vectors from the packaged model, its projection and the int8 query model, as a settled
daemon has them. It gives the daemon's figures exactly (R@5 / R@10, all categories) at ~1 s a
setting once the vectors are cached (in --cache, keyed by the texts).

    python bench/locomo_replay.py                              # dev, the committed ranking
    python bench/locomo_replay.py --set DENSE_WEIGHT_LOW=0.25  # a ranking constant changed
    python bench/locomo_replay.py --lexical                    # the semantic leg off

`--set NAME=VALUE` (repeatable) overrides a constant of memory_core.recall.ranking for the run;
several values separated by commas make a grid. Tune on the dev split only (the default).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from locomo_parts import DEFAULT_DATA, DEV, Conversation, load  # noqa: E402

from memory_core.clock import SystemClock, ms_from_iso  # noqa: E402
from memory_core.crypto.aead import Cipher  # noqa: E402
from memory_core.recall import ranking  # noqa: E402
from memoryd.semantic import quantize  # noqa: E402
from memoryd.semantic.embedder import Embedder  # noqa: E402
from memoryd.semantic.index import Hits, Projection, VectorIndex  # noqa: E402
from memoryd.store.db import Database  # noqa: E402
from memoryd.store.memories import MemoryStore, NewMemory, RecallQuery  # noqa: E402

KS = (5, 10)


class ReplayIndex:
    """The semantic leg as recall sees it, over precomputed query vectors."""

    def __init__(self, index: VectorIndex, queries: dict[str, np.ndarray]) -> None:
        self.index = index
        self.queries = queries

    async def search(self, text: str, k: int, static: bool = False) -> Hits | None:
        return self.index.search(self.queries[text.strip()], k)

    def product(self, text: str, k: int, static: bool) -> None:
        return None  # recalls are replayed one at a time

    def written(self) -> None:
        pass


def cached_vectors(cache: Path, tag: str, texts: list[str], embed: Any) -> np.ndarray:
    key = hashlib.sha256("\n".join([tag, *texts]).encode()).hexdigest()[:20]
    path = cache / f"{tag}-{key}.npy"
    if path.exists():
        cached: np.ndarray = np.load(path)
        return cached
    vectors = np.stack([embed(t) for t in texts]) if tag == "queries" else embed(texts)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


async def open_conversation(
    conv: Conversation, home: Path, embedder: Embedder | None, cache: Path
) -> tuple[MemoryStore, dict[str, set[str]], ReplayIndex | None]:
    db = Database(home / f"{conv.sample_id}.db")
    await db.open()
    store = MemoryStore(db, Cipher(b"k" * 32), SystemClock(), max_content_chars=4000)
    await store.load_clock()
    items = [
        NewMemory(
            content=t.content,
            category="facts",
            source="import",
            created_ms=ms_from_iso(t.created_at),
            updated_ms=ms_from_iso(t.created_at),
        )
        for t in conv.turns
    ]
    result = await store.import_many(items)
    turns_of: dict[str, set[str]] = {}
    for turn, memory in zip(conv.turns, result.results, strict=True):
        turns_of.setdefault(memory["id"], set()).add(turn.dia_id)
    if embedder is None:
        return store, turns_of, None
    async with db.reader() as conn:
        rows = list(await conn.execute_fetchall("SELECT rowid, content FROM memories"))
    vectors = cached_vectors(cache, "turns", [r[1] for r in rows], embedder.embed)
    index = VectorIndex(embedder.dimensions)
    index.put([int(r[0]) for r in rows], vectors)
    index.projection = Projection.fit(index.snapshot().matrix)
    texts = [q.text for q in conv.questions]
    queries = cached_vectors(cache, "queries", texts, embedder.embed_query)
    replay = ReplayIndex(index, {t.strip(): v for t, v in zip(texts, queries, strict=True)})
    store.semantic = replay
    return store, turns_of, replay


async def score(
    opened: list[tuple[Conversation, MemoryStore, dict[str, set[str]]]],
) -> dict[str, float]:
    """R@5 and R@10 over every question (all categories), and R@10 per conversation."""
    recall: dict[int, list[float]] = {k: [] for k in KS}
    per_conversation: dict[str, list[float]] = {}
    for conv, store, turns_of in opened:
        for q in conv.questions:
            found = await store.recall(RecallQuery(context=q.text, limit=max(KS)))
            ranked = [turns_of.get(memory.id, set()) for memory, _ in found]
            wanted = set(q.evidence)
            for k in KS:
                recall[k].append(len(wanted & set().union(*ranked[:k])) / len(wanted))
            per_conversation.setdefault(conv.sample_id, []).append(recall[max(KS)][-1])
    out = {f"R@{k}": round(100 * statistics.fmean(v), 1) for k, v in recall.items()}
    for name, values in per_conversation.items():
        out[f"{name} R@10"] = round(100 * statistics.fmean(values), 1)
    return out


def grid(settings: list[str]) -> list[dict[str, float]]:
    axes = []
    for setting in settings:
        name, _, values = setting.partition("=")
        if not hasattr(ranking, name):
            raise SystemExit(f"memory_core.recall.ranking has no {name}")
        axes.append([(name, float(v)) for v in values.split(",")])
    return [dict(point) for point in itertools.product(*axes)]


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--lexical", action="store_true", help="the semantic leg off")
    parser.add_argument("--set", action="append", default=[], help="NAME=V[,V...]")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/memoryd-locomo-replay"))
    args = parser.parse_args(argv)
    conversations = [c for c in load(args.data) if (c.sample_id in DEV) == (args.split == "dev")]
    embedder = None
    if not args.lexical:
        embedder = Embedder()
        embedder.use_for_queries(await quantize.ensure(args.cache / "model", embedder.model))
    with tempfile.TemporaryDirectory() as tmp:
        opened = []
        for conv in conversations:
            store, turns_of, _ = await open_conversation(conv, Path(tmp), embedder, args.cache)
            opened.append((conv, store, turns_of))
        defaults = {name: getattr(ranking, name) for name in dir(ranking) if name.isupper()}
        for point in grid(args.set):
            for name, value in point.items():
                setattr(ranking, name, type(defaults[name])(value))
            print(point, await score(opened), flush=True)
            for name, value in defaults.items():
                setattr(ranking, name, value)
        for _, store, _ in opened:
            await store.db.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
