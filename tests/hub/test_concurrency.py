"""Many pushers for one user while a puller loops: every op exactly once, in order."""

from __future__ import annotations

import asyncio
import random

from memory_core.ids import uuid7
from tests.hub.ops import put, replica
from tests.hubs import HubHarness

PUSHERS = 12
OPS_EACH = 40


async def test_concurrent_pushers_never_make_the_puller_skip(hub: HubHarness) -> None:
    client = hub.client("alice")
    rng = random.Random(5)
    expected: set[str] = set()
    done = asyncio.Event()

    async def pusher() -> None:
        rep = replica()
        ops = [
            put(rep, i + 1, uuid7(), (hub.clock.ms << 16) + i, content=f"op {i}")
            for i in range(OPS_EACH)
        ]
        expected.update(o["op_id"] for o in ops)
        pos = 0
        while pos < len(ops):
            batch = ops[pos : pos + rng.randint(1, 8)]
            r = await client.post("/api/sync/push", json={"replica_id": rep, "ops": batch})
            assert r.status_code == 200, r.text
            if rng.random() < 0.2:  # the response was "lost": retry, expect duplicates
                again = await client.post("/api/sync/push", json={"replica_id": rep, "ops": batch})
                assert {a["status"] for a in again.json()["acks"]} == {"duplicate"}
                assert [a["seq"] for a in again.json()["acks"]] == [
                    a["seq"] for a in r.json()["acks"]
                ]
            pos += len(batch)

    seen: list[tuple[int, str]] = []

    async def puller() -> None:
        after = 0
        while True:
            finished = done.is_set()
            page = (await client.get("/api/sync/pull", params={"after": after, "limit": 17})).json()
            seen.extend((o["seq"], o["op_id"]) for o in page["ops"])
            after = page["next_after"]
            if finished and not page["has_more"]:
                return

    pull_task = asyncio.create_task(puller())
    await asyncio.gather(*(pusher() for _ in range(PUSHERS)))
    done.set()
    await pull_task
    seqs = [s for s, _ in seen]
    assert seqs == sorted(set(seqs)), "the puller saw a seq twice or out of order"
    assert [op for _, op in seen] and {op for _, op in seen} == expected
    assert len(seen) == PUSHERS * OPS_EACH
