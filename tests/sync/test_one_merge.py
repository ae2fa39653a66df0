"""One merge for the daemon and the hub (memory_core.merge): the same ops, in any order and with
equal clocks, give a daemon replica and the real hub the same memories; and an op that would
poison a replica (a time out of range) is set aside, never applied.

The hub is the real one on PostgreSQL (tests/hubs.py); the daemon side is a real
MemoryStore (tests/sync/harness.py) that applies each op as sync does.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory_core.clock import ms_from_iso
from memory_core.hlc import MAX_HLC, pack
from memory_core.ids import uuid7
from memory_core.model import CATEGORIES
from memory_core.wire import rest
from memory_core.wire.rest import ListQuery
from memory_core.wire.sync import Op
from memoryd.store.memories import Change, NewMemory, RecallQuery
from tests.conftest import FakeClock
from tests.hubs import HubHarness, running_hub
from tests.sync.harness import Replica

USER = "alice"
T = FakeClock().ms
REPLICAS = ("1" * 32, "8" * 32, "f" * 32)
ENTITIES = ("01900000-0000-7000-8000-0000000000e1", "01900000-0000-7000-8000-0000000000e2")
# Three stamps, two of them equal to the millisecond: ties between replicas are the rule here.
STAMPS = (pack(T, 0), pack(T, 0), pack(T, 1), pack(T + 5, 0))

FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "content": st.sampled_from(["zebra", "aardvark", "Moose", "moose "]),
    "category": st.sampled_from(CATEGORIES[:3]),
    "tags": st.sampled_from([[], ["x"], ["x", "y"], ["y"]]),
    "expanded_keywords": st.sampled_from(["", "alpha beta", "beta"]),
    "importance": st.sampled_from([0.1, 0.5, 1.0]),
    "project": st.sampled_from([None, "p", "q"]),
    "source": st.sampled_from(["manual", "import"]),
    "created_ms": st.sampled_from([T - 10_000, T - 5, T + 3]),
}


@st.composite
def ops(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A few puts (and now and then a delete) by three replicas, each replica's seqs in order."""
    out: list[dict[str, Any]] = []
    seqs = dict.fromkeys(REPLICAS, 0)
    for _ in range(draw(st.integers(1, 7))):
        replica = draw(st.sampled_from(REPLICAS))
        seqs[replica] += 1
        op: dict[str, Any] = {
            "replica_id": replica,
            "replica_seq": seqs[replica],
            "op_id": uuid7(T),
            "entity_id": draw(st.sampled_from(ENTITIES)),
            "hlc": draw(st.sampled_from(STAMPS)),
            "kind": "put",
        }
        if draw(st.integers(0, 9)) == 0:
            op.update(kind="del", field_mask=[], fields={})
        else:
            names = draw(st.sets(st.sampled_from(sorted(FIELD_VALUES)), min_size=1, max_size=4))
            fields = {name: draw(FIELD_VALUES[name]) for name in names}
            op.update(field_mask=sorted(fields), fields=fields)
        out.append(op)
    return out


class World:
    """The real hub (emptied per example) and a fresh daemon-side store per example."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, hub: HubHarness[FakeClock], root: Path
    ) -> None:
        self.loop = loop
        self.hub = hub
        self.root = root
        self.examples = 0
        self.client = hub.client(USER)

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def replica(self) -> Replica:
        self.examples += 1
        return await Replica(self.root / f"r{self.examples}", self.hub.app, FakeClock()).open()

    async def push(self, op: dict[str, Any]) -> None:
        body = {"replica_id": op["replica_id"], "ops": [op]}
        r = await self.client.post("/api/sync/push", json=body)
        assert r.status_code == 200, r.text

    async def hub_view(self) -> dict[str, dict[str, Any]]:
        """What the hub's REST API shows of each live memory."""
        r = await self.client.get("/api/memories", params={"limit": 100})
        assert r.status_code == 200, r.text
        # Read as memoryd reads the hub's original shape (the UUID is `uuid`, tags a text).
        typed = [rest.MemoryOut.model_validate(m).model_dump() for m in r.json()["memories"]]
        return {
            m["id"]: {
                **{k: m[k] for k in VISIBLE},
                "created_ms": ms_from_iso(m["created_at"]),
                "updated_ms": ms_from_iso(m["updated_at"]),
            }
            for m in typed
        }


VISIBLE = ("content", "category", "tags", "expanded_keywords", "importance", "project", "source")


async def apply(replica: Replica, op: dict[str, Any]) -> None:
    """Apply one op as the sync engine does with a pulled one."""
    parsed = Op.model_validate(op)
    change = Change(parsed.entity_id, parsed.kind, parsed.hlc, dict(parsed.fields))

    async def job(conn: Any) -> None:
        await replica.store.apply_remote(conn, change)

    await replica.db.write(job)


async def daemon_view(replica: Replica) -> dict[str, dict[str, Any]]:
    memories, _ = await replica.store.page(ListQuery(limit=100))
    return {
        m.id: {
            **{k: getattr(m, k) for k in VISIBLE},
            "content": m.shown_content(),
            "created_ms": m.created_ms,
            "updated_ms": m.updated_ms,
        }
        for m in memories
    }


async def both_views(
    world: World, feed: list[dict[str, Any]], hub_order: list[int], daemon_order: list[int]
) -> tuple[dict[str, Any], dict[str, Any]]:
    await world.hub.reset()
    replica = await world.replica()
    try:
        for index in hub_order:
            await world.push(feed[index])
        for index in daemon_order:
            await apply(replica, feed[index])
        return await world.hub_view(), await daemon_view(replica)
    finally:
        await replica.close()


def _world_test(hub_dsn: str, body: Any) -> None:
    """Run `body(world)` with the hub's app, pool and lifespan in one loop the test owns (the
    property drives examples synchronously, as tests/sync/test_convergence.py does)."""
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(prefix="merge", dir=shm if shm.is_dir() else None))
    try:
        hub = loop.run_until_complete(stack.enter_async_context(running_hub(hub_dsn, FakeClock())))
        body(World(loop, hub, root))
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()
        shutil.rmtree(root, ignore_errors=True)


def test_equal_hlcs_give_the_hub_and_the_daemon_one_winner(hub_dsn: str) -> None:
    """The regression: the hub broke ties by replica id, the daemon by value."""
    hlc = pack(T, 0)
    entity = ENTITIES[0]
    feed = [
        {
            "replica_id": replica,
            "replica_seq": 1,
            "op_id": uuid7(T),
            "entity_id": entity,
            "hlc": hlc,
            "kind": "put",
            "field_mask": ["content", "created_ms"],
            "fields": {"content": content, "created_ms": T},
        }
        for replica, content in ((REPLICAS[0], "zebra"), (REPLICAS[2], "aardvark"))
    ]

    def body(world: World) -> None:
        hub_view, daemon_view = world.run(both_views(world, feed, [0, 1], [1, 0]))
        assert daemon_view[entity]["content"] == "zebra"
        assert hub_view == daemon_view

    _world_test(hub_dsn, body)


def test_any_order_with_equal_clocks_gives_the_hub_and_the_daemon_one_state(
    hub_dsn: str,
) -> None:
    @settings(
        max_examples=60,
        deadline=None,
        database=None,  # the same examples on every run and machine
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(feed=ops(), data=st.data())
    def check(world: World, feed: list[dict[str, Any]], data: st.DataObject) -> None:
        indices = list(range(len(feed)))
        hub_order = data.draw(st.permutations(indices), label="hub order")
        daemon_order = data.draw(st.permutations(indices), label="daemon order")
        hub_view, daemon_view = world.run(both_views(world, feed, hub_order, daemon_order))
        assert hub_view == daemon_view

    _world_test(hub_dsn, lambda world: check(world))


# ---------------------------------------------------------------- poisoned ops are set aside


async def plant(hub: HubHarness[FakeClock], op: dict[str, Any]) -> None:
    """Put an op straight into the hub's log, as a hub that predates push validation kept it
    (the test connects as a superuser, which row-level security does not bind)."""
    async with hub.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO hub_users (user_id) VALUES ($1) ON CONFLICT DO NOTHING", USER
        )
        seq = await conn.fetchval(
            "UPDATE hub_users SET next_seq = next_seq + 1 WHERE user_id = $1 RETURNING next_seq",
            USER,
        )
        await conn.execute(
            "INSERT INTO ops (user_id, seq, op_id, replica_id, replica_seq, entity_id, hlc, "
            "kind, field_mask, fields, body_hash) "
            "VALUES ($1, $2, $3::uuid, $4, $5, $6, $7, 'put', $8, $9, $10)",
            USER,
            seq,
            op["op_id"],
            op["replica_id"],
            op["replica_seq"],
            op["entity_id"],
            op["hlc"],
            op["field_mask"],
            op["fields"],
            hashlib.sha256(op["op_id"].encode()).digest(),
        )


async def test_an_op_with_times_out_of_range_is_quarantined_not_applied(
    hub_dsn: str, tmp_path: Path
) -> None:
    truth = FakeClock()
    async with running_hub(hub_dsn, truth) as hub:
        poisoned: list[dict[str, Any]] = [
            {"created_ms": 2**62, "content": "from the far future"},
            {"created_ms": 2**63 + 5, "content": "past int64"},
            {"content": "stamped at the end of time"},
        ]
        for seq, fields in enumerate(poisoned, start=1):
            hlc = (1 << 63) - 1 if "created_ms" not in fields else pack(truth.ms, seq)
            await plant(
                hub,
                {
                    "op_id": uuid7(truth.ms),
                    "replica_id": REPLICAS[0],
                    "replica_seq": seq,
                    "entity_id": ENTITIES[seq % 2],
                    "hlc": hlc,
                    "field_mask": sorted(fields),
                    "fields": fields,
                },
            )
        replica = await Replica(tmp_path / "r", hub.app, truth).open()
        try:
            result = await replica.engine.sync_once()
            assert result.ok, result
            assert result.quarantined == len(poisoned) and result.applied == 0
            assert (await replica.engine.status()).quarantined == len(poisoned)
            assert replica.store.hlc.last <= MAX_HLC
            # The replica still works, its clock unharmed: list, recall, export, a write
            # that syncs.
            created = await replica.store.create(NewMemory("a fresh memory after the poison"))
            assert [m.id for m in (await replica.store.page(ListQuery()))[0]] == [created.memory.id]
            assert await replica.store.recall(RecallQuery("fresh memory"))
            assert [e async for e in replica.store.export(include_sensitive=True)]
            again = await replica.engine.sync_once()
            assert again.ok and again.pushed == 1, again
        finally:
            await replica.close()
