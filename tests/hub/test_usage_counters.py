"""The storage quotas' counters (hub migration 8): kept by triggers, they equal a full recount
of the user's log and live memories after every kind of write, and the migration starts them
from the data already there."""

from __future__ import annotations

from typing import Any

from memory_core.ids import uuid7
from memory_hub.migrations import migrate
from tests.conftest import FakeClock
from tests.hub.ops import delete, put, replica
from tests.hubs import HubHarness

RECOUNT = (
    "SELECT u.user_id, u.op_bytes, u.live_memories, "
    "coalesce((SELECT sum(octet_length(fields::text) + coalesce(octet_length(sealed), 0)) "
    "FROM ops o WHERE o.user_id = u.user_id), 0) AS true_bytes, "
    "(SELECT count(*) FROM memories m WHERE m.user_id = u.user_id AND m.deleted_ms IS NULL) "
    "AS true_live FROM hub_users u ORDER BY u.user_id"
)


async def _counted(hub: HubHarness[FakeClock]) -> list[dict[str, Any]]:
    rows = await hub.pool.fetch(RECOUNT)  # as a superuser: past row-level security
    return [dict(r) for r in rows]


async def _writes(hub: HubHarness[FakeClock]) -> None:
    alice, bob = hub.client("alice"), hub.client("bob")
    ids = []
    for n in range(5):
        made = await alice.post("/api/memories", json={"content": f"note {n} " + "x" * n * 50})
        assert made.status_code == 200  # the original project's status
        ids.append(made.json()["id"])
    assert (await alice.put(f"/api/memories/{ids[0]}", json={"content": "edited"})).is_success
    assert (await alice.delete(f"/api/memories/{ids[1]}")).is_success  # purges its ops
    secret = {"content": "password=hunter2hunter2 for the db"}
    assert (await alice.post("/api/memories", json=secret)).status_code == 200
    rep, hlc = replica(), hub.clock.ms << 16
    entity = uuid7()
    ops = [put(rep, 1, entity, hlc, content="pushed"), put(rep, 2, uuid7(), hlc + 1, content="b")]
    pushed = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": ops})
    assert pushed.status_code == 200, pushed.text
    gone = await alice.post(
        "/api/sync/push", json={"replica_id": rep, "ops": [delete(rep, 3, entity, hlc + 2)]}
    )
    assert gone.status_code == 200, gone.text
    assert (await bob.post("/api/memories", json={"content": "bob's"})).status_code == 200
    assert (await alice.post("/api/memories/migrate-secrets")).is_success


async def test_the_counters_equal_a_recount_after_every_kind_of_write(
    hub: HubHarness[FakeClock],
) -> None:
    await _writes(hub)
    counted = await _counted(hub)
    assert [r["user_id"] for r in counted] == ["alice", "bob"]
    for row in counted:
        assert (row["op_bytes"], row["live_memories"]) == (row["true_bytes"], row["true_live"])
    assert counted[0]["live_memories"] == 6 and counted[1]["live_memories"] == 1


async def test_the_migration_starts_the_counters_from_the_data_already_there(
    hub: HubHarness[FakeClock],
) -> None:
    await _writes(hub)
    async with hub.pool.acquire() as conn:  # back to the schema before step 8, data kept
        await conn.execute(
            "DROP FUNCTION memory_hub_count_ops() CASCADE; "
            "DROP FUNCTION memory_hub_count_memories() CASCADE; "
            "ALTER TABLE hub_users DROP COLUMN op_bytes, DROP COLUMN live_memories; "
            "DELETE FROM hub_schema_migrations WHERE version = 8"
        )
        assert await migrate(conn) == [8]
    for row in await _counted(hub):
        assert row["op_bytes"] == row["true_bytes"] > 0
        assert row["live_memories"] == row["true_live"] > 0
