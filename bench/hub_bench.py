"""Hub throughput and recall latency against a throwaway PostgreSQL cluster.

    .venv/bin/python bench/hub_bench.py [--ops 20000] [--users 50] [--total 1000000]
                                        [--target 100000] [--queries 300]

Requests go through the real app (routing, auth, validation, JSON) in process over httpx's
ASGI transport, so the figures exclude TCP and uvicorn. Push and pull use the real endpoints.
For recall, the 1M memories are loaded with one INSERT ... SELECT generate_series straight
into `memories` (the op log is bypassed: it plays no part in recall), then ANALYZEd.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memory_core.ids import uuid7
from memory_hub.app import create_app
from memory_hub.config import HubSettings
from tests.pg import create_database, pg_cluster

VOCAB = 5000


def _ops(replica: str, start: int, n: int, now_ms: int) -> list[dict[str, object]]:
    return [
        {
            "replica_id": replica,
            "replica_seq": start + i,
            "op_id": uuid7(),
            "entity_id": uuid7(),
            "hlc": (now_ms << 16) + i,
            "kind": "put",
            "field_mask": ["category", "content", "importance", "tags"],
            "fields": {
                "category": "facts",
                "content": f"benchmark memory {start + i} about topic {i % 97}",
                "importance": 0.5,
                "tags": ["bench"],
            },
        }
        for i in range(n)
    ]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def push_all(client: httpx.AsyncClient, total: int, batch: int) -> float:
    replica = os.urandom(16).hex()
    now = int(time.time() * 1000)
    pages = [_ops(replica, s + 1, min(batch, total - s), now) for s in range(0, total, batch)]
    start = time.perf_counter()
    for page in pages:
        r = await client.post("/api/sync/push", json={"replica_id": replica, "ops": page})
        r.raise_for_status()
    return time.perf_counter() - start


async def pull_all(client: httpx.AsyncClient) -> tuple[int, float]:
    after, count, start = 0, 0, time.perf_counter()
    while True:
        page = (await client.get("/api/sync/pull", params={"after": after, "limit": 1000})).json()
        count += len(page["ops"])
        after = page["next_after"]
        if not page["has_more"]:
            return count, time.perf_counter() - start


def _client(app: object, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        base_url="http://hub",
        headers={"Authorization": f"Bearer {key}"},
        timeout=600,
    )


async def throughput(dsn: str, ops: int, users: int) -> None:
    keys = {f"user{i:02d}": f"bench-key-{i:04d}-xyz" for i in range(users)}
    settings = HubSettings(database_url=dsn, keys=keys, pool_min=4, pool_max=20)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        one = _client(app, keys["user00"])
        secs = await push_all(one, ops, 500)
        print(f"push, 1 user: {ops} ops in batches of 500: {ops / secs:,.0f} ops/s")
        count, secs = await pull_all(one)
        print(f"pull, 1 user: {count} ops in pages of 1000: {count / secs:,.0f} ops/s")
        clients = [_client(app, keys[f"user{i:02d}"]) for i in range(1, users)]
        each = max(1, ops // len(clients))
        start = time.perf_counter()
        await asyncio.gather(*(push_all(c, each, 100) for c in clients))
        secs = time.perf_counter() - start
        total = each * len(clients)
        print(
            f"push, {len(clients)} users at once: {total} ops (batches of 100): "
            f"{total / secs:,.0f} ops/s"
        )
        start = time.perf_counter()
        counts = await asyncio.gather(*(pull_all(c) for c in clients))
        secs = time.perf_counter() - start
        print(
            f"pull, {len(clients)} users at once: {sum(c for c, _ in counts)} ops: "
            f"{sum(c for c, _ in counts) / secs:,.0f} ops/s"
        )
        for c in [one, *clients]:
            await c.aclose()


LOAD_SQL = """
INSERT INTO memories (user_id, id, content, category, tags, expanded_keywords, importance,
                      created_ms, updated_ms)
SELECT CASE WHEN s.i <= $2 THEN 'target' ELSE 'other' || (s.i % 99) END,
       gen_random_uuid()::text,
       (SELECT string_agg('w' || floor($3 * random() ^ 2)::int, ' ')
          FROM generate_series(1, 14) g WHERE s.i > 0),
       'facts',
       ARRAY['t' || floor(50 * random())::int],
       (SELECT string_agg('w' || floor($3 * random() ^ 2)::int, ' ')
          FROM generate_series(1, 4) g WHERE s.i > 0),
       random(),
       $4 - (random() * 3e10)::bigint,
       $4 - (random() * 3e10)::bigint
FROM generate_series(1, $1) AS s(i)
"""


async def recall_latency(dsn: str, total: int, target: int, queries: int) -> None:
    settings = HubSettings(
        database_url=dsn, keys={"target": "target-key-0001"}, pool_min=2, pool_max=4
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        conn = await asyncpg.connect(dsn)
        start = time.perf_counter()
        await conn.execute("DROP INDEX memories_search")
        await conn.execute(LOAD_SQL, total, target, VOCAB, int(time.time() * 1000))
        loaded = time.perf_counter() - start
        await conn.execute(
            "CREATE INDEX memories_search ON memories USING gin (user_id, search_vector)"
        )
        await conn.execute("ANALYZE memories")
        indexed = time.perf_counter() - start
        await conn.close()
        print(
            f"loaded {total:,} memories ({target:,} for the measured user) in {loaded:.0f} s; "
            f"GIN index built by {indexed:.0f} s"
        )
        client = _client(app, "target-key-0001")
        rng = random.Random(7)
        for kind, words in (("3 common-ish words", (3, 0.3)), ("3 rare words", (3, 1.0))):
            n, lo = words
            times = []
            for _ in range(queries):
                picks = [f"w{int(VOCAB * (lo * rng.random()) ** 1)}" for _ in range(n)]
                if lo == 1.0:
                    picks = [f"w{rng.randint(VOCAB // 2, VOCAB - 1)}" for _ in range(n)]
                t = time.perf_counter()
                r = await client.post(
                    "/api/memories/recall", json={"context": " ".join(picks), "limit": 10}
                )
                times.append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
            print(
                f"recall ({kind}), {queries} queries: p50 {statistics.median(times):.1f} ms, "
                f"p99 {pct(times, 0.99):.1f} ms"
            )
        await client.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=51, help="1 measured alone + 50 at once")
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--target", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--skip-recall", action="store_true")
    args = parser.parse_args()
    with pg_cluster() as cluster:
        # The bench cluster keeps fsync off like the test one; figures are for the hub's work,
        # not for disk flushes.
        dsn = await create_database(cluster, "bench_sync")
        await throughput(dsn, args.ops, args.users)
        if not args.skip_recall:
            dsn = await create_database(cluster, "bench_recall")
            await recall_latency(dsn, args.total, args.target, args.queries)


if __name__ == "__main__":
    asyncio.run(main())
