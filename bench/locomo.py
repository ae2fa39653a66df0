"""Recall quality on LoCoMo, measured through a real daemon's API.

Each dialog turn becomes one memory (`"<speaker>: <text> [shared an image: <caption>]"`, created
at its session's date), imported with POST /api/memories/import; each question is asked verbatim
through POST /api/memories/recall. Scored: recall@k of the question's evidence turns (the share of
them among the top k), per category id, for categories 1-4 and for all, plus recall latency over
the socket and indexing time.

Two layouts: `per` (one store, i.e. one daemon, per conversation: one user's history) and
`global` (all ten conversations in one store, the other nine acting as distractors).
conv-26 and conv-30 are the dev split (tune on them only); the other eight are the test split.

    python bench/locomo.py                       # test split, both layouts
    python bench/locomo.py --split dev --layout per
    python bench/locomo.py --fill-to 10000       # global store padded to 10k memories
    python bench/locomo.py --semantic            # daemon with the semantic leg on
    python bench/locomo.py --immediate --layout per  # lexical, and semantic before/after it settles
    python bench/locomo.py --target hub          # the hub's recall (PostgreSQL full-text search)

The data (CC BY-NC 4.0) is read from ../shared/data/locomo10.json or --data; never copy it here.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the tests' helpers (tests/support.py, tests/pg.py) and the hub
sys.path.insert(0, str(REPO / "bench"))
KS = (5, 10)


from locomo_parts import (  # noqa: E402
    CATEGORIES,
    DEFAULT_DATA,
    DEV,
    Conversation,
    Opener,
    Target,
    cpu_s,
    daemon,
    filler,
    hub_stores,
    load,
    rss_mib,
)

# ----------------------------------------------------------------------------- run

Key = tuple[str, str]  # (sample_id, dia_id)


@dataclass
class Store:
    """What was indexed: memory id -> the turns it stands for (equal turns merge)."""

    turns_of: dict[str, set[Key]] = field(default_factory=lambda: defaultdict(set))
    index_s: float = 0.0
    embed_s: float = 0.0
    memories: int = 0


async def index(d: Target, items: list[tuple[Key | None, str, str]], wait_semantic: bool) -> Store:
    store = Store()
    start = time.perf_counter()
    for offset in range(0, len(items), 2000):
        chunk = items[offset : offset + 2000]
        body = [
            {
                "content": content,
                "category": "facts",
                "source": "import",
                "created_at": created,
                "updated_at": created,
            }
            for _, content, created in chunk
        ]
        response = await d.client.post("/api/memories/import", json=body)
        response.raise_for_status()
        # The daemon answers {"memories": [...]}; the hub, the original's list (UUID as `uuid`).
        answer = response.json()
        results = answer if isinstance(answer, list) else answer["memories"]
        for (key, _, _), result in zip(chunk, results, strict=True):
            if key is not None:
                store.turns_of[result.get("uuid", result["id"])].add(key)
    store.index_s = time.perf_counter() - start
    if wait_semantic:
        store.embed_s = await settle(d)
    store.memories = len(store.turns_of) + sum(1 for k, _, _ in items if k is None)
    return store


async def settle(d: Target) -> float:
    """Wait until the semantic leg has embedded everything; the seconds it took."""
    start = time.perf_counter()
    while True:
        status = (await d.client.get("/api/semantic")).json()
        if not status["enabled"]:
            raise RuntimeError(f"--semantic given, but the daemon's semantic leg is off: {status}")
        # The projection is refitted just after the last batch is stored; the int8 query
        # model and the static query table are swapped in once built (seconds, the first
        # time), the static map once fitted.
        settled = status.get("projection_current", True) and "building" not in (
            status.get("query_model"),
            status.get("static_queries"),
        )
        if status["pending"] == 0 and settled:
            return time.perf_counter() - start
        await asyncio.sleep(0.2)


@dataclass
class Scores:
    rows: list[dict[str, Any]] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    daemon_cpu_s: float = 0.0


async def ask(d: Target, store: Store, conv: Conversation, scores: Scores) -> None:
    for q in conv.questions:
        start = time.perf_counter()
        response = await d.client.post(
            "/api/memories/recall", json={"context": q.text, "limit": max(KS)}
        )
        scores.latencies_ms.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
        ranked: list[set[str]] = []
        for memory in response.json()["memories"]:
            turns = store.turns_of.get(memory.get("uuid", memory["id"]), ())
            ranked.append({dia for sid, dia in turns if sid == conv.sample_id})
        row: dict[str, Any] = {"conv": conv.sample_id, "category": q.category}
        wanted = set(q.evidence)
        for k in KS:
            found = set().union(*ranked[:k]) if ranked else set()
            row[f"r@{k}"] = len(wanted & found) / len(wanted)
        scores.rows.append(row)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summarise(scores: Scores) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {f"cat{c}": [] for c in CATEGORIES}
    groups["cats1-4"], groups["all"] = [], []
    for row in scores.rows:
        groups[f"cat{row['category']}"].append(row)
        if row["category"] != 5:
            groups["cats1-4"].append(row)
        groups["all"].append(row)
    out: dict[str, Any] = {}
    for name, rows in groups.items():
        out[name] = {"n": len(rows)}
        for k in KS:
            out[name][f"r@{k}"] = (
                round(100 * statistics.fmean(r[f"r@{k}"] for r in rows), 1) if rows else None
            )
    lat = scores.latencies_ms
    out["latency_ms"] = {
        "p50": round(statistics.median(lat), 2),
        "p95": round(_percentile(lat, 95), 2),
        "p99": round(_percentile(lat, 99), 2),
        "n": len(lat),
    }
    out["daemon_cpu_ms_per_recall"] = round(1000 * scores.daemon_cpu_s / max(1, len(lat)), 2)
    return out


Items = list[tuple[Key | None, str, str]]


def stores(
    layout: str, conversations: list[Conversation], scored: list[Conversation], fill_to: int
) -> list[tuple[Items, list[Conversation]]]:
    """What each store holds and whose questions it is asked: one store per scored
    conversation (`per`), or one store of all ten, padded to `fill_to` (`global`)."""
    if layout == "per":
        return [
            ([((c.sample_id, t.dia_id), t.content, t.created_at) for t in c.turns], [c])
            for c in scored
        ]
    items: Items = [
        ((c.sample_id, t.dia_id), t.content, t.created_at) for c in conversations for t in c.turns
    ]
    extra = max(0, fill_to - len(items))
    items += [(None, text, "2023-01-01T00:00:00Z") for text in filler(conversations, extra)]
    return [(items, scored)]


async def run_layout(
    layout: str,
    conversations: list[Conversation],
    scored: list[Conversation],
    open_store: Opener,
    fill_to: int,
    semantic: bool,
) -> dict[str, Any]:
    scores = Scores()
    indexed: list[Store] = []
    rss: list[float] = []
    for items, asked in stores(layout, conversations, scored, fill_to):
        async with open_store() as d:
            store = await index(d, items, semantic)
            before = cpu_s(d.pid)
            for conv in asked:
                await ask(d, store, conv, scores)
            scores.daemon_cpu_s += cpu_s(d.pid) - before
            indexed.append(store)
            rss.append(rss_mib(d.pid) if d.pid else 0.0)
    result = summarise(scores)
    result["memories"] = [s.memories for s in indexed]
    result["index_s"] = round(sum(s.index_s for s in indexed), 2)
    result["embed_s"] = round(sum(s.embed_s for s in indexed), 2)
    result["daemon_rss_mib"] = round(max(rss), 1)
    return result


PASSES = ("lexical", "immediate", "midway", "settled")


async def pending(d: Target) -> int:
    return int((await d.client.get("/api/semantic")).json()["pending"])


async def run_immediate(
    layout: str,
    conversations: list[Conversation],
    scored: list[Conversation],
    fill_to: int,
    semantic_env: dict[str, str],
) -> dict[str, Any]:
    """Recall while the semantic leg is still indexing. For each store: a lexical daemon
    (MEMORY_SEMANTIC=0) is filled and asked; then a semantic daemon is filled and asked at
    once, before its background embedding has caught up (`immediate`: what a user sees right
    after `memory import` or a first pull from the hub; how much gets embedded meanwhile
    depends on the machine), again once at most half of the store is still to embed
    (`midway`: half the candidates with a vector, half without), and once everything is
    embedded (`settled`). All from the same run, on the same machine load."""
    passes = {name: Scores() for name in PASSES}
    progress: list[dict[str, Any]] = []
    for items, asked in stores(layout, conversations, scored, fill_to):
        async with daemon({"MEMORY_SEMANTIC": "0"}) as d:
            store = await index(d, items, wait_semantic=False)
            for conv in asked:
                await ask(d, store, conv, passes["lexical"])
        async with daemon(semantic_env) as d:
            store = await index(d, items, wait_semantic=False)
            first = await pending(d)
            start = time.perf_counter()
            for conv in asked:
                await ask(d, store, conv, passes["immediate"])
            asked_s = time.perf_counter() - start
            last = await pending(d)
            while (half := await pending(d)) > len(items) // 2:
                await asyncio.sleep(0.05)
            for conv in asked:
                await ask(d, store, conv, passes["midway"])
            embed_s = await settle(d)
            for conv in asked:
                await ask(d, store, conv, passes["settled"])
        progress.append(
            {
                "memories": len(items),
                "pending_at_first_question": first,
                "pending_after_last_question": last,
                "pending_at_midway": half,
                "questions_s": round(asked_s, 2),
                "settled_after_s": round(asked_s + embed_s, 2),
            }
        )
    result = {name: summarise(scores) for name, scores in passes.items()}
    result["progress"] = progress
    return result


def table(name: str, result: dict[str, Any]) -> str:
    lines = [f"{name}", f"{'group':<9} {'n':>5} {'R@5':>6} {'R@10':>6}"]
    for group in [*(f"cat{c}" for c in CATEGORIES), "cats1-4", "all"]:
        g = result[group]
        r5 = "-" if g["r@5"] is None else f"{g['r@5']:.1f}"
        r10 = "-" if g["r@10"] is None else f"{g['r@10']:.1f}"
        lines.append(f"{group:<9} {g['n']:>5} {r5:>6} {r10:>6}")
    lat = result["latency_ms"]
    line = f"recall latency ms: p50 {lat['p50']} p95 {lat['p95']} p99 {lat['p99']}"
    if "memories" in result:  # run_layout's results (run_immediate's passes have none)
        line += (
            f"; daemon CPU per recall {result['daemon_cpu_ms_per_recall']} ms; "
            f"memories {result['memories']}; index {result['index_s']} s"
            + (f"; embed {result['embed_s']} s" if result["embed_s"] else "")
            + f"; daemon RSS {result['daemon_rss_mib']} MiB"
        )
    lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", choices=("dev", "test", "all"), default="test")
    parser.add_argument("--layout", choices=("per", "global", "both"), default="both")
    parser.add_argument("--fill-to", type=int, default=0, help="pad the global store to N")
    parser.add_argument("--semantic", action="store_true", help="turn the semantic leg on")
    parser.add_argument(
        "--immediate",
        action="store_true",
        help="per store: lexical, then semantic asked right after loading and once settled",
    )
    parser.add_argument(
        "--embed-model",
        type=Path,
        help="MEMORY_EMBED_MODEL for the daemon: a sentence-transformers ONNX directory",
    )
    parser.add_argument(
        "--target", choices=("daemon", "hub"), default="daemon", help="whose recall to measure"
    )
    parser.add_argument("--out", type=Path, default=Path("locomo_results.json"))
    args = parser.parse_args(argv)
    if args.immediate and args.target != "daemon":
        parser.error("--immediate measures the daemon's semantic leg: --target daemon")
    if not args.data.exists():
        parser.error(f"{args.data} not found; pass --data PATH to locomo10.json")

    conversations = load(args.data)
    scored = [
        c
        for c in conversations
        if args.split == "all" or (c.sample_id in DEV) == (args.split == "dev")
    ]
    env = {"MEMORY_SEMANTIC": "1" if args.semantic else "0"}
    if args.embed_model:
        env["MEMORY_EMBED_MODEL"] = str(args.embed_model.resolve())
    layouts = ("per", "global") if args.layout == "both" else (args.layout,)
    report: dict[str, Any] = {
        "target": args.target,
        "split": args.split,
        "conversations": [c.sample_id for c in scored],
        "questions": sum(len(c.questions) for c in scored),
        "semantic": args.semantic or args.immediate,
        "immediate": args.immediate,
        "fill_to": args.fill_to,
        "embed_model": str(args.embed_model) if args.embed_model else None,
        "cpus": os.cpu_count(),
        "load_avg_before": [round(x, 2) for x in os.getloadavg()],
        "results": {},
    }

    async def run() -> None:
        async with AsyncExitStack() as stack:
            if args.target == "hub":
                open_store: Opener = await stack.enter_async_context(hub_stores())
            else:
                open_store = functools.partial(daemon, env)
            for layout in layouts:
                title = f"LoCoMo turns via {args.target}, {args.split} split, {layout} store"
                if args.immediate:
                    passes = await run_immediate(
                        layout, conversations, scored, args.fill_to, {**env, "MEMORY_SEMANTIC": "1"}
                    )
                    report["results"][layout] = passes
                    for name in PASSES:
                        print(table(f"{title}, {name}", passes[name]), flush=True)
                        print()
                    for row in passes["progress"]:
                        print(f"progress: {row}")
                    print()
                    continue
                result = await run_layout(
                    layout, conversations, scored, open_store, args.fill_to, args.semantic
                )
                report["results"][layout] = result
                print(table(title, result), flush=True)
                print()

    asyncio.run(run())
    report["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(f"load average before {report['load_avg_before']}, after {report['load_avg_after']}")
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
