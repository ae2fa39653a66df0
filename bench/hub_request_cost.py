"""What one hub request costs, one at a time: a push of one op, a REST store and a recall, with
the rate limits on (the defaults), against a throwaway PostgreSQL cluster.

    .venv/bin/python bench/hub_request_cost.py [--requests 400] [--no-auth-throttle]

Requests go through the real app in process over httpx's ASGI transport (no TCP, no uvicorn),
sequentially, so each figure is one request's path: the hub's wall time (median and p95) and
its process CPU per request (PostgreSQL's backends are not counted). Run it before and after a
change to the limits or the auth path to see what the change costs each request.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memory_core.ids import uuid7
from memory_hub.app import create_app
from memory_hub.config import HubSettings
from tests.pg import create_database, pg_cluster

KEY = "bench-key-0001-xyz"


def _op(replica: str, seq: int) -> dict[str, object]:
    return {
        "replica_id": replica,
        "replica_seq": seq,
        "op_id": uuid7(),
        "entity_id": uuid7(),
        "hlc": (int(time.time() * 1000) << 16) + seq,
        "kind": "put",
        "field_mask": ["category", "content", "importance", "tags"],
        "fields": {
            "category": "facts",
            "content": f"pushed memory {seq} about topic {seq % 97}",
            "importance": 0.5,
            "tags": ["bench"],
        },
    }


async def measure(
    name: str, requests: int, call: Callable[[int], Awaitable[httpx.Response]]
) -> None:
    for i in range(20):  # warm up: prepared statements, the pool, the allocator
        (await call(-1 - i)).raise_for_status()
    walls = []
    cpu0 = time.process_time()
    for i in range(requests):
        started = time.perf_counter()
        (await call(i)).raise_for_status()
        walls.append((time.perf_counter() - started) * 1000)
    cpu_ms = (time.process_time() - cpu0) * 1000 / requests
    walls.sort()
    p95 = walls[int(0.95 * len(walls))]
    print(
        f"{name:<18} wall p50 {statistics.median(walls):6.2f} ms  p95 {p95:6.2f} ms  "
        f"hub CPU {cpu_ms:5.2f} ms/request"
    )


async def run(dsn: str, requests: int, auth_throttle: bool) -> None:
    settings = HubSettings(database_url=dsn, keys={"bench": KEY}, pool_min=2, pool_max=4)
    if not auth_throttle:  # the failed-key throttle off: what checking an address costs
        quotas = dataclasses.replace(settings.quotas, auth_failures_per_minute=0)
        settings = dataclasses.replace(settings, quotas=quotas)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://hub",
            headers={"Authorization": f"Bearer {KEY}"},
        ) as client,
    ):
        replica = os.urandom(16).hex()
        seqs = iter(range(1, 1 << 30))

        async def push(_: int) -> httpx.Response:
            body = {"replica_id": replica, "ops": [_op(replica, next(seqs))]}
            return await client.post("/api/sync/push", json=body)

        async def store(i: int) -> httpx.Response:
            body = {"content": f"stored memory {i} about topic {i % 97}", "tags": ["bench"]}
            return await client.post("/api/memories", json=body)

        async def recall(i: int) -> httpx.Response:
            body = {"context": f"memory about topic {i % 97}", "limit": 10}
            return await client.post("/api/memories/recall", json=body)

        await measure("push (1 op)", requests, push)
        await measure("REST store", requests, store)
        await measure("recall", requests, recall)
        print(f"load average: {os.getloadavg()[0]:.2f} (2 cores)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--no-auth-throttle", action="store_true")
    args = parser.parse_args()
    with pg_cluster() as cluster:
        dsn = asyncio.run(create_database(cluster, "request_cost"))
        asyncio.run(run(dsn, args.requests, not args.no_auth_throttle))


if __name__ == "__main__":
    main()
