"""Sync throughput, in process: N memories written on replica A become recallable on B
through the real hub (memory_hub's app on a throwaway PostgreSQL cluster, over
httpx.ASGITransport), then a fresh replica C joins and pulls everything. Prints wall times
and ops/s. Everything shares one interpreter: for what users run (real daemons and hub
processes, CPU per process), see bench/sync_e2e.py and docs/benchmarks.md (issue 20).

    PYTHONPATH=. .venv/bin/python bench/sync_throughput.py [N_WRITE] [N_JOIN]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from memory_core.clock import SystemClock
from memoryd.store.memories import NewMemory, RecallQuery
from tests.hubs import running_hub
from tests.pg import create_database, pg_cluster
from tests.sync.harness import Replica


async def main(n_write: int, n_join: int) -> None:
    with pg_cluster() as cluster:
        dsn = await create_database(cluster, "bench_sync")
        async with running_hub(dsn, SystemClock()) as hub:
            await run(hub.app, n_write, n_join)


async def run(app: Any, n_write: int, n_join: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="syncbench"))
    a = await Replica(tmp / "a", app, SystemClock()).open()
    b = await Replica(tmp / "b", app, SystemClock()).open()
    items = [NewMemory(f"memory {i} about topic{i} and widget{i % 97}") for i in range(n_write)]
    start = time.perf_counter()
    for chunk in range(0, n_write, 500):
        await a.store.import_many(items[chunk : chunk + 500])
    written = time.perf_counter()
    pushed = await a.engine.sync_once()
    mid = time.perf_counter()
    pulled = await b.engine.sync_once()
    end = time.perf_counter()
    last = n_write - 1
    found = await b.store.recall(RecallQuery(f"topic{last}"))
    assert found and found[0][0].content == items[last].content, "not recallable on B"
    print(
        f"{n_write} memories A->hub->B: write {written - start:.2f}s, push {mid - written:.2f}s "
        f"({pushed.pushed / (mid - written):.0f} ops/s), pull+apply {end - mid:.2f}s "
        f"({pulled.applied / (end - mid):.0f} ops/s); written->recallable on B "
        f"{end - written:.2f}s"
    )
    extra = [NewMemory(f"more {i} about subject{i}") for i in range(n_join - n_write)]
    for chunk in range(0, len(extra), 500):
        await a.store.import_many(extra[chunk : chunk + 500])
    await a.engine.sync_once()
    c = await Replica(tmp / "c", app, SystemClock()).open()
    start = time.perf_counter()
    joined = await c.engine.sync_once()
    took = time.perf_counter() - start
    print(
        f"new replica joins with {joined.applied} memories: {took:.2f}s "
        f"({joined.applied / took:.0f} ops/s)"
    )
    for replica in (a, b, c):
        await replica.close()


if __name__ == "__main__":
    args = [int(x) for x in sys.argv[1:3]]
    asyncio.run(main(*(args + [10_000, 100_000][len(args) :])))
