"""How the prompt hook's relevance floor (memoryd/sessions/floor.py) was chosen, and how it does.

The coding benchmark's memories go into an in-process store (with the semantic leg, unless
`--semantic off`); every prompt of the split is recalled as the prompt hook recalls it
(`MemoryStore.recall_evidence`, the session's project, 12 candidates), and floors are applied
to what comes back: the one in memoryd, and a grid around it. For each floor, over the prompt
hook alone (no SessionStart profile, so that the profile's coverage of this small store does
not hide what the floor lets through):

    hit    share of the needed memories the hook would inject (mean over prompts needing any)
    prec   share of the injected memories that were needed (prompts needing any)
    none   mean memories injected for a small-talk prompt (kind `none`)

Tune on dev only (`--split dev`, the default). Unlike run.py this imports memoryd: it reads
the evidence recall returns, which the HTTP API does not show.

    .venv/bin/python bench/coding/floor.py --split dev --semantic on
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent))

from check_data import Memory, Prompt, load  # noqa: E402
from session import store_order  # noqa: E402

from memory_core.clock import SystemClock  # noqa: E402
from memory_core.crypto.aead import Cipher  # noqa: E402
from memoryd.sessions import floor  # noqa: E402
from memoryd.sessions.inject import RECALL_LIMIT, RECALL_POOL, trivial  # noqa: E402
from memoryd.store.db import Database  # noqa: E402
from memoryd.store.memories import MemoryStore, NewMemory, Recalled, RecallQuery  # noqa: E402

Floor = Callable[[list[Recalled]], list[Recalled]]


@dataclasses.dataclass
class Asked:
    prompt: Prompt
    needed: set[str]  # ids
    hits: list[Recalled]


async def gather(memories: list[Memory], prompts: list[Prompt], semantic: bool) -> list[Asked]:
    home = Path(tempfile.mkdtemp(prefix="floorbench-"))
    db = Database(home / "memory.db")
    await db.open()
    leg = None
    if semantic:
        from memoryd.semantic.embedder import Embedder
        from memoryd.semantic.leg import SemanticLeg

        leg = SemanticLeg(db, Embedder())
        await leg.load()
    store = MemoryStore(db, Cipher(b"b" * 32), SystemClock(), 1400, semantic=leg)
    await store.load_clock()
    ids: dict[str, str] = {}
    for m in store_order(memories):
        new = NewMemory(
            m.content,
            category=m.category,
            tags=list(m.tags),
            importance=m.importance,
            project=m.project,
            supersedes=ids[m.supersedes] if m.supersedes else None,
        )
        ids[m.key] = (await store.create(new)).memory.id
    if leg is not None:
        await leg.sync_once()
        await leg.quantize_queries(home / "cache")  # queries as the daemon embeds them
    asked = []
    for p in prompts:
        hits = []
        if not trivial(p.text):
            query = RecallQuery(p.text, project=p.project, limit=RECALL_POOL)
            hits = await store.recall_evidence(dataclasses.replace(query, include_sensitive=False))
        asked.append(Asked(p, {ids[k] for k in p.needs}, hits))
    await db.close()
    return asked


def measure(asked: list[Asked], keep: Floor) -> dict[str, float]:
    shares, injected, relevant, small_talk = [], 0, 0, []
    for a in asked:
        chosen = {r.memory.id for r in keep(a.hits)[:RECALL_LIMIT]}
        if not a.needed:
            small_talk.append(len(chosen))
            continue
        shares.append(len(chosen & a.needed) / len(a.needed))
        injected += len(chosen)
        relevant += len(chosen & a.needed)
    return {
        "hit": 100 * statistics.fmean(shares),
        "prec": 100 * relevant / injected if injected else float("nan"),
        "none": statistics.fmean(small_talk) if small_talk else float("nan"),
    }


def variant(relative: float, share: float, standout: float | None) -> Floor:
    """memoryd's floor with other constants (None: no semantic path)."""

    def keep(hits: list[Recalled]) -> list[Recalled]:
        patched = {"RELATIVE_FLOOR": relative, "MIN_SHARE": share}
        saved = {name: getattr(floor, name) for name in (*patched, "SEMANTIC_STANDOUT")}
        try:
            for name, value in patched.items():
                setattr(floor, name, value)
            floor.SEMANTIC_STANDOUT = float("inf") if standout is None else standout
            return floor.relevant(hits)
        finally:
            for name, value in saved.items():
                setattr(floor, name, value)

    return keep


def before(hits: list[Recalled]) -> list[Recalled]:
    """The floor before this one: half the best score."""
    best = max((r.score for r in hits), default=0.0)
    return [r for r in hits if r.score >= best * 0.5 and r.evidence.superseded_by is None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("dev", "test", "all"), default="dev")
    parser.add_argument("--semantic", choices=("on", "off"), default="on")
    args = parser.parse_args(argv)
    memories, prompts, problems = load()
    if problems:
        parser.error(f"bad data: {problems[:3]}")
    chosen = [p for p in prompts if args.split == "all" or p.split == args.split]
    asked = asyncio.run(gather(memories, chosen, args.semantic == "on"))
    rows: list[tuple[str, Floor]] = [
        ("before: half the best score", before),
        ("memoryd's floor", floor.relevant),
    ]
    for relative in (0.4, 0.5, 0.6):
        for share in (0.25, 0.3, 0.4):
            for standout in (None, 0.6, 1.1, 1.6):
                name = f"rel {relative} share {share} standout {standout}"
                rows.append((name, variant(relative, share, standout)))
    print(f"prompt hook alone, {args.split} split, semantic {args.semantic}, {len(asked)} prompts")
    print(f"{'floor':<40} {'hit':>6} {'prec':>6} {'none':>6}")
    for name, keep in rows:
        m = measure(asked, keep)
        print(f"{name:<40} {m['hit']:>6.1f} {m['prec']:>6.1f} {m['none']:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
