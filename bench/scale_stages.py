"""Where a recall's time goes at scale: each statement recall runs, timed in process with the
store's own functions on a reader of the cached store, and the query plan of each.

    .venv/bin/python bench/scale_stages.py [--count 1000000] [--queries 100] [--db COPY]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import KEY_HEX, machine, summary
from scale_corpus import Corpus

from memory_core.clock import SystemClock
from memory_core.recall import fts
from memoryd.store import succession
from memoryd.store.db import Database
from memoryd.store.recall import run_recall
from memoryd.store.recall_sql import narrow, recall_sql
from memoryd.store.records import RecallQuery
from memoryd.store.word_counts import WordCounts

_SCORED = "SELECT count(*) FROM memories_fts WHERE memories_fts MATCH ?"


async def _stages(path: Path, bodies: list[dict[str, object]]) -> None:
    db = Database(path)
    await db.open()
    timings: dict[str, list[float]] = {"count words": [], "search": [], "successors": []}
    whole: list[float] = []
    kept, whole_kept = WordCounts(), WordCounts()  # as the daemon keeps them across recalls
    scored: list[tuple[int, float]] = []  # (rows FTS5 ranks, search ms) per query
    try:
        for body in bodies:
            query = RecallQuery(context=str(body["context"]), project=body.get("project"))  # type: ignore[arg-type]
            plan = fts.plan(query.context, query.expanded_query)
            sql = recall_sql(query)
            async with db.reader() as conn:
                t0 = time.perf_counter()
                narrowed = await narrow(conn, plan, sql.pool, kept)
                t1 = time.perf_counter()
                rows = list(await conn.execute_fetchall(*sql.lexical(narrowed)))
                t2 = time.perf_counter()
                await succession.successors(conn, [r["id"] for r in rows])
                t3 = time.perf_counter()
            timings["count words"].append((t1 - t0) * 1000)
            timings["search"].append((t2 - t1) * 1000)
            timings["successors"].append((t3 - t2) * 1000)
            async with db.reader() as conn:
                (count,) = await conn.execute_fetchall(_SCORED, (narrowed.match,))
            ranked = min(int(count[0]), fts.RANKED_BUDGET) if narrowed.bounded else int(count[0])
            scored.append((ranked, (t2 - t1) * 1000))
            started = time.perf_counter()
            await run_recall(db, SystemClock(), None, query, whole_kept)
            whole.append((time.perf_counter() - started) * 1000)
        for name, values in timings.items():
            print(f"  {name:<12} {summary(values[10:])}")
        print(f"  whole recall {summary(whole[10:])} (in process, lexical)")
        _by_rows(scored)
        first = bodies[0]
        query = RecallQuery(context=str(first["context"]))
        sql = recall_sql(query)
        async with db.reader() as conn:
            statement, params = sql.lexical(await narrow(conn, fts.plan(query.context), sql.pool))
            plan = await conn.execute_fetchall("EXPLAIN QUERY PLAN " + statement, params)
        print(f"  plan of the search for {first['context']!r}:")
        for row in plan:
            print(f"    {row[3]}")
    finally:
        await db.close()


def _by_rows(scored: list[tuple[int, float]]) -> None:
    """The search's time against how many rows its MATCH makes FTS5 rank (bm25 for each)."""
    scored.sort()
    counts = [c for c, _ in scored]
    print(
        f"  rows ranked per query: p50 {counts[len(counts) // 2]:,}, "
        f"p95 {counts[int(len(counts) * 0.95)]:,}, max {counts[-1]:,}"
    )
    for low, high in ((0, 1_000), (1_000, 10_000), (10_000, 50_000), (50_000, 10**9)):
        times = [ms for c, ms in scored if low <= c < high]
        if times:
            per = sum(ms for c, ms in scored if low <= c < high) / max(
                1, sum(c for c, _ in scored if low <= c < high)
            )
            print(
                f"  {low:>6,}-{high:<13,} rows: {len(times):>3} queries, search "
                f"{summary(times)}, {per * 1000:.1f} us a row"
            )


def stages(path: Path, bodies: list[dict[str, object]]) -> None:
    print("stages, in process:", flush=True)
    asyncio.run(_stages(path, bodies))


def main() -> None:
    from scale_bench import recall_bodies
    from scale_store import database

    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--db", type=Path, help="a copy of the store to use instead of the cache")
    args = parser.parse_args()
    print(machine(), flush=True)
    stages(args.db or database(args.count, KEY_HEX), recall_bodies(Corpus(), args.queries))


if __name__ == "__main__":
    main()
