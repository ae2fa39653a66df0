"""Fairness of the hub: one user's recall latency alone, then while another user pushes at full
speed (issue 17, "Hub limits"). Target: recall p50 and p95 under load at most 2x the quiet ones.

    .venv/bin/python bench/hub_fairness.py [--seconds 10] [--memories 2000]
                                           [--ops-per-minute 20000] [--hostile]

A real `memory-hub serve` (one uvicorn process) on a loopback port over a throwaway PostgreSQL
cluster (tests/pg.py). Bob's memories are imported first; then bob recalls back to back for
`--seconds` with nobody else, then for `--seconds` again while alice, from another process,
pushes pages of 500 new ops as fast as the hub answers; on a 429 she waits Retry-After, or with
`--hostile` sends the page again at once. `--ops-per-minute 0` turns the per-user limit off.
The pusher shares the machine's cores with the hub, PostgreSQL and the measuring client.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memory_core.ids import uuid7
from tests.hubs import KEYS, hub_env
from tests.pg import create_database, pg_cluster
from tests.support import HubServer

VOCAB = 3000
PAGE = 500


def words(rng: random.Random, n: int) -> str:
    return " ".join(f"w{int(VOCAB * rng.random() ** 2)}" for _ in range(n))


Counts = multiprocessing.Queue  # of (ops accepted, pushes refused)


def page(replica: str, seq: int, rng: random.Random) -> list[dict[str, object]]:
    now = int(time.time() * 1000)
    return [
        {
            "replica_id": replica,
            "replica_seq": seq + i + 1,
            "op_id": uuid7(),
            "entity_id": uuid7(),
            "hlc": (now << 16) + i,
            "kind": "put",
            "field_mask": ["category", "content", "tags"],
            "fields": {"category": "facts", "content": words(rng, 20), "tags": ["p"]},
        }
        for i in range(PAGE)
    ]


def push_at_full_speed(
    url: str, seconds: float, hostile: bool, out: Counts[tuple[int, int]]
) -> None:
    """Alice's pusher, in its own process: counts of ops accepted and of pushes refused. On a
    429 it waits Retry-After, as memoryd's sync does, or (`hostile`) sends the page again at
    once."""
    replica, seq, accepted, refused = os.urandom(16).hex(), 0, 0, 0
    rng = random.Random(1)
    headers = {"Authorization": f"Bearer {KEYS['alice']}"}
    deadline = time.monotonic() + seconds
    ops = page(replica, seq, rng)
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        while time.monotonic() < deadline:
            r = client.post("/api/sync/push", json={"replica_id": replica, "ops": ops})
            if r.status_code == 429:
                refused += 1
                if not hostile:
                    pause = float(r.headers["Retry-After"])
                    time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                continue
            r.raise_for_status()
            seq += PAGE
            accepted += PAGE
            ops = page(replica, seq, rng)
    out.put((accepted, refused))


def recall_for(client: httpx.Client, seconds: float, rng: random.Random) -> list[float]:
    times = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        start = time.perf_counter()
        r = client.post("/api/memories/recall", json={"context": words(rng, 3), "limit": 10})
        times.append((time.perf_counter() - start) * 1000)
        r.raise_for_status()
    return times


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def run(dsn: str, args: argparse.Namespace) -> None:
    env = hub_env(dsn, HUB_USER_OPS_PER_MINUTE=str(args.ops_per_minute))
    server = HubServer(env)
    assert server.migrate().returncode == 0
    server.start()
    try:
        bob = server.client(KEYS["bob"])
        rng = random.Random(7)
        items = [{"content": words(rng, 14), "tags": [f"t{i % 20}"]} for i in range(args.memories)]
        bob.post("/api/memories/import", json=items).raise_for_status()
        recall_for(bob, 1.0, rng)  # warm the caches and the pool
        quiet = recall_for(bob, args.seconds, rng)
        results: multiprocessing.Queue[tuple[int, int]] = multiprocessing.Queue()
        pusher = multiprocessing.Process(
            target=push_at_full_speed, args=(server.url, args.seconds + 1, args.hostile, results)
        )
        pusher.start()
        loaded = recall_for(bob, args.seconds, rng)
        accepted, refused = results.get(timeout=120)
        pusher.join()
        (q50, q95), (l50, l95) = summary(quiet), summary(loaded)
        print(
            f"hub limit: {args.ops_per_minute or 'off'} ops/min per user; bob: {args.memories} "
            f"memories; pusher {'hostile' if args.hostile else 'honours Retry-After'}"
        )
        print(f"recall alone:        {len(quiet)} calls, p50 {q50:.1f} ms, p95 {q95:.1f} ms")
        print(f"recall under a push: {len(loaded)} calls, p50 {l50:.1f} ms, p95 {l95:.1f} ms")
        print(
            f"alice pushed {accepted} ops in {args.seconds + 1:.0f} s "
            f"({accepted / (args.seconds + 1):.0f} ops/s), {refused} pushes refused (429)"
        )
        ratios = f"p50 {l50 / q50:.2f}x, p95 {l95 / q95:.2f}x"
        print(f"ratio under load / alone: {ratios} (target <= 2x)")
    finally:
        server.stop()
        shutil.rmtree(server.log.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--memories", type=int, default=2000)
    parser.add_argument("--ops-per-minute", type=int, default=20_000)
    parser.add_argument("--hostile", action="store_true", help="retry a 429 at once")
    args = parser.parse_args()
    with pg_cluster() as cluster:
        dsn = asyncio.run(create_database(cluster, "bench_fairness"))
        run(dsn, args)


if __name__ == "__main__":
    main()
