"""Recall latency over the daemon's socket at 1k/10k/100k memories, against the floor: the same
queries in-process, through the store (no HTTP) and as the bare FTS5 statement in sqlite3.

    .venv/bin/python bench/recall_latency.py [--sizes 1000,10000,100000] [--queries 500]

Databases are built once with the real store and cached in /tmp/memoryd-bench/.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import CORPUS_VERSION, KEY_HEX, DaemonProcess, machine, queries, sentences, summary

from memory_core.clock import SystemClock
from memory_core.crypto.aead import Cipher
from memory_core.recall import fts, ranking
from memoryd.store.db import Database
from memoryd.store.memories import MemoryStore, NewMemory, RecallQuery

CACHE = Path("/tmp/memoryd-bench")


async def build(path: Path, size: int) -> None:
    db = Database(path)
    await db.open()
    store = MemoryStore(db, Cipher(bytes.fromhex(KEY_HEX)), SystemClock(), 1400)
    await store.load_clock()
    texts = sentences(size)
    started = time.perf_counter()
    for start in range(0, size, 2000):
        await store.import_many(
            [NewMemory(t, tags=[f"t{i % 50}"]) for i, t in enumerate(texts[start : start + 2000])]
        )
    print(f"  built {size} memories in {time.perf_counter() - started:.1f} s", flush=True)
    await db.close()


def database(size: int) -> Path:
    CACHE.mkdir(mode=0o700, exist_ok=True)
    path = CACHE / f"recall-v{CORPUS_VERSION}-{size}.db"
    if not path.exists():
        partial = path.with_suffix(".partial")
        for leftover in CACHE.glob(partial.name + "*"):
            leftover.unlink()
        asyncio.run(build(partial, size))
        partial.rename(path)
    return path


def over_socket(sock: Path, qs: list[tuple[str, str]]) -> list[float]:
    times = []
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://m") as c:
        for context, expanded in qs[:20]:  # warm-up
            c.post("/api/memories/recall", json={"context": context, "expanded_query": expanded})
        for context, expanded in qs:
            started = time.perf_counter()
            response = c.post(
                "/api/memories/recall", json={"context": context, "expanded_query": expanded}
            )
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    return times


async def in_process(path: Path, qs: list[tuple[str, str]]) -> list[float]:
    db = Database(path)
    await db.open()
    store = MemoryStore(db, Cipher(bytes.fromhex(KEY_HEX)), SystemClock(), 1400)
    times = []
    try:
        for context, expanded in qs[:20]:
            await store.recall(RecallQuery(context=context, expanded_query=expanded))
        for context, expanded in qs:
            started = time.perf_counter()
            await store.recall(RecallQuery(context=context, expanded_query=expanded))
            times.append((time.perf_counter() - started) * 1000)
    finally:
        await db.close()
    return times


def bare_sqlite(path: Path, qs: list[tuple[str, str]]) -> list[float]:
    """The FTS5 statement recall runs first, in sqlite3 on this thread: the floor."""
    weights = ", ".join(str(w) for w in ranking.BM25_WEIGHTS)
    sql = (
        f"SELECT m.*, bm25(memories_fts, {weights}) AS bm FROM memories_fts "
        "JOIN memories m ON m.rowid = memories_fts.rowid "
        "WHERE memories_fts MATCH ? AND m.deleted_ms IS NULL ORDER BY bm LIMIT 50"
    )
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    times = []
    try:
        for context, expanded in qs[:20] + qs:
            match = fts.plan(context, expanded).match()
            started = time.perf_counter()
            if match:
                conn.execute(sql, (match,)).fetchall()
            times.append((time.perf_counter() - started) * 1000)
    finally:
        conn.close()
    return times[20:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    print(machine())
    qs = queries(args.queries)
    for size in (int(s) for s in args.sizes.split(",")):
        path = database(size)
        bare = bare_sqlite(path, qs)
        store = asyncio.run(in_process(path, qs))
        daemon = DaemonProcess(path)
        try:
            socket_times = over_socket(daemon.socket, qs)
        finally:
            daemon.stop()
        floor = sorted(store)[len(store) // 2]
        print(f"{size:>7} memories, {len(qs)} queries")
        print(f"  socket (HTTP, daemon)    {summary(socket_times)}")
        print(f"  in-process store.recall  {summary(store)}")
        print(f"  bare sqlite3 FTS5 query  {summary(bare)}")
        print(
            f"  ratio socket/in-process p50 {sorted(socket_times)[len(qs) // 2] / floor:.2f}, "
            f"socket/bare-sqlite p50 "
            f"{sorted(socket_times)[len(qs) // 2] / sorted(bare)[len(bare) // 2]:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
