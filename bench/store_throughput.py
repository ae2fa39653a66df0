"""Aggregate store throughput: N concurrent clients (default 16), each storing M memories
(default 200) over the daemon's socket, on a fresh database; and beside it, in the same run,
the same stores done in this process by one connection, one at a time (the floors):

- store floor: the daemon's own store code (`MemoryStore.create`: validation, secret
  detection, dedup, the row, its full-text index, the clock), no socket, no concurrency;
- SQLite floor: only the statements a store runs (the dedup look-up, the insert with its
  full-text index, the clock), on a plain sqlite3 connection, one transaction each.

Each run starts a fresh daemon and fresh databases; with --runs > 1 the median and p95 over
the runs are printed, and every ratio is taken within one run.

    .venv/bin/python bench/store_throughput.py [--clients 16] [--stores 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import KEY_HEX, DaemonProcess, machine, percentile, sentences, summary, unix_post

from memory_core.clock import SystemClock
from memory_core.crypto.aead import Cipher
from memory_core.ids import uuid7
from memory_core.model import normalize_for_dedup
from memoryd.store.db import Database, check_database
from memoryd.store.memories import MemoryStore, NewMemory


async def client(sock: Path, texts: list[str], latencies: list[float]) -> int:
    errors = 0
    reader, writer = await asyncio.open_unix_connection(str(sock))
    try:
        for text in texts:
            body = json.dumps({"content": text, "tags": ["bench"]}).encode()
            started = time.perf_counter()
            status, _ = await unix_post(reader, writer, "/api/memories", body)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += status != 201
    finally:
        writer.close()
        await writer.wait_closed()
    return errors


async def run(
    sock: Path, clients: int, stores: int, seed: int = 99
) -> tuple[float, int, list[float]]:
    texts = _texts(clients * stores, seed)
    latencies: list[float] = []
    started = time.perf_counter()
    errors = await asyncio.gather(
        *(client(sock, texts[n * stores : (n + 1) * stores], latencies) for n in range(clients))
    )
    return time.perf_counter() - started, sum(errors), latencies


def _texts(count: int, seed: int = 99) -> list[str]:
    return [f"{seed} {t}" for t in sentences(count, seed=seed)]


async def store_floor(path: Path, texts: list[str]) -> float:
    """Stores per second: the store's own code in process, one store after another."""
    db = Database(path)
    await db.open()
    try:
        store = MemoryStore(db, Cipher(bytes.fromhex(KEY_HEX)), SystemClock(), 1400)
        await store.load_clock()
        started = time.perf_counter()
        for text in texts:
            await store.create(NewMemory(content=text, tags=["bench"]))
        return len(texts) / (time.perf_counter() - started)
    finally:
        await db.close()


def sqlite_floor(path: Path, texts: list[str]) -> float:
    """Stores per second: a store's statements alone, on one sqlite3 connection, each store
    its own transaction, with the daemon's schema and its durability (WAL, synchronous
    NORMAL)."""
    asyncio.run(check_database(path))  # the daemon's schema
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    cipher = Cipher(bytes.fromhex(KEY_HEX))
    tags = json.dumps(["bench"])
    try:
        started = time.perf_counter()
        for text in texts:
            now = time.time_ns() // 1_000_000
            fingerprint = cipher.fingerprint(normalize_for_dedup(text))
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "SELECT * FROM memories WHERE content_hash = ? AND deleted_ms IS NULL "
                "ORDER BY created_ms LIMIT 1",
                (fingerprint,),
            ).fetchall()
            conn.execute(
                "INSERT INTO memories (id, content, content_hash, category, tags, "
                "created_ms, updated_ms, field_hlc) VALUES (?, ?, ?, 'facts', ?, ?, ?, ?)",
                (uuid7(now), text, fingerprint, tags, now, now, json.dumps({"content": now})),
            )
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('hlc', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(now),),
            )
            conn.execute("COMMIT")
        return len(texts) / (time.perf_counter() - started)
    finally:
        conn.close()


def one_run(clients: int, stores: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="mdt", dir="/tmp"))
    total = clients * stores
    daemon = DaemonProcess(folder / "memory.db")
    try:
        asyncio.run(run(daemon.socket, 4, 25, seed=1))  # warm-up, other texts
        cpu_before = daemon.cpu_seconds()
        elapsed, errors, latencies = asyncio.run(run(daemon.socket, clients, stores))
        cpu = daemon.cpu_seconds() - cpu_before
    finally:
        daemon.stop()
    texts = _texts(total)
    socket_rate = total / elapsed
    by_store = asyncio.run(store_floor(folder / "floor-store.db", texts))
    by_sqlite = sqlite_floor(folder / "floor-sqlite.db", texts)
    print(
        f"{clients} clients x {stores} stores: {total} in {elapsed:.2f} s = "
        f"{socket_rate:,.0f} stores/s aggregate, {errors} errors"
    )
    print(f"  per-store latency        {summary(latencies)}")
    # Independent of what else runs on the machine: the daemon's own CPU per store.
    print(
        f"  daemon CPU {cpu:.2f} s = {cpu / total * 1000:.3f} ms per store, "
        f"{total / cpu:,.0f} stores per daemon-CPU-second"
    )
    print(
        f"  floors, in process, one connection, one store at a time: store code "
        f"{by_store:,.0f} stores/s (socket = {socket_rate / by_store:.2f}x), SQLite alone "
        f"{by_sqlite:,.0f} stores/s (socket = {socket_rate / by_sqlite:.2f}x)"
    )
    return {
        "socket": socket_rate,
        "errors": errors,
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 95),
        "cpu_ms": cpu / total * 1000,
        "store_floor": by_store,
        "sqlite_floor": by_sqlite,
        "vs_store": socket_rate / by_store,
        "vs_sqlite": socket_rate / by_sqlite,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    print(machine())
    runs = [one_run(args.clients, args.stores) for _ in range(args.runs)]
    if len(runs) > 1:
        print(f"over {len(runs)} runs (median / p95 of the runs):")
        for key in runs[0]:
            values = [r[key] for r in runs]
            middle, high = statistics.median(values), percentile(values, 95)
            print(f"  {key:13} {middle:10,.2f} / {high:10,.2f}")
    print(machine())  # the load average after, too: the machine is shared


if __name__ == "__main__":
    main()
