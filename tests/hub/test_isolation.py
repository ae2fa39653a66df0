"""User B cannot read, list, recall, update, delete, pull, or detect user A's data."""

from __future__ import annotations

import asyncpg

from memory_core.ids import uuid7
from tests.hub.ops import put, replica
from tests.hubs import HubHarness


async def _alice_data(hub: HubHarness) -> tuple[str, dict[str, object]]:
    alice = hub.client("alice")
    memory_id = (
        await alice.post(
            "/api/memories",
            json={"content": "alice private zebra plan", "tags": ["zebra"], "user_id": "bob"},
        )
    ).json()["uuid"]
    rep = replica()
    op = put(rep, 1, uuid7(), hub.clock.ms << 16, content="alice zebra synced")
    await alice.post("/api/sync/push", json={"replica_id": rep, "ops": [op]})
    return memory_id, op


async def test_bob_sees_nothing_of_alice(hub: HubHarness) -> None:
    memory_id, op = await _alice_data(hub)
    bob = hub.client("bob")
    unknown = uuid7()
    assert (await bob.get("/api/memories")).json() == {"memories": [], "total": 0}
    assert (await bob.post("/api/memories/recall", json={"context": "zebra"})).json() == {
        "memories": []
    }
    assert (await bob.get("/api/memories/sync")).json()["memories"] == []
    pulled = (await bob.get("/api/sync/pull", params={"after": 0})).json()
    assert pulled["ops"] == [] and pulled["head_seq"] == 0
    stats = (await bob.get("/api/stats")).json()
    assert stats["total"] == 0 and stats["head_seq"] == 0
    # Every by-id endpoint answers for A's id (her UUID, or her integer id 1, which names
    # nothing of bob's) exactly as for an id that never existed.
    for target in (memory_id, unknown, "1"):
        for method, path, body in (
            ("GET", f"/api/memories/{target}", None),
            ("PUT", f"/api/memories/{target}", {"content": "bob was here"}),
            ("DELETE", f"/api/memories/{target}", None),
            ("POST", f"/api/memories/{target}/secret", None),
        ):
            r = await bob.request(method, path, json=body)
            assert r.status_code == 404, (method, path, r.text)
            assert r.json()["error"]["message"] == f"no memory with id {target!r}"
    # Pushing A's op id and entity into B's space is a fresh insert, not a duplicate: no oracle.
    r = await bob.post("/api/sync/push", json={"replica_id": op["replica_id"], "ops": [op]})
    assert r.json()["acks"][0]["status"] == "inserted"
    assert r.json()["acks"][0]["seq"] == 1
    # And nothing of A changed.
    alice = hub.client("alice")
    got = (await alice.get(f"/api/memories/{memory_id}")).json()
    assert got["content"] == "alice private zebra plan"
    assert (await alice.get("/api/memories")).json()["total"] == 2


async def test_forged_user_in_body_is_ignored(hub: HubHarness) -> None:
    await _alice_data(hub)  # alice's body carried "user_id": "bob"
    assert (await hub.client("bob").get("/api/memories")).json()["total"] == 0
    assert (await hub.client("alice").get("/api/auth-check")).json()["user_id"] == "alice"
    rep = replica()
    forged = {
        "replica_id": rep,
        "user_id": "alice",
        "ops": [put(rep, 1, uuid7(), hub.clock.ms << 16, content="x")],
    }
    r = await hub.client("bob").post("/api/sync/push", json=forged)
    assert r.status_code == 422  # unknown fields in a push are refused, never used
    assert (await hub.client("alice").get("/api/sync/pull")).json()["head_seq"] == 2


async def test_row_level_security_blocks_a_query_without_where(hub: HubHarness) -> None:
    """The backstop: under an ordinary role, a statement that forgets `WHERE user_id` still
    sees only the declared user's rows."""
    await _alice_data(hub)
    await hub.client("bob").post("/api/memories", json={"content": "bob's own"})
    admin = await asyncpg.connect(hub.settings.database_url)
    try:
        await admin.execute("CREATE ROLE hub_app LOGIN")
        await admin.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO hub_app")
    finally:
        await admin.close()
    app = await asyncpg.connect(hub.settings.database_url, user="hub_app")
    try:
        async with app.transaction():
            await app.execute("SELECT set_config('memory_hub.user_id', 'bob', true)")
            contents = [r["content"] for r in await app.fetch("SELECT content FROM memories")]
            ops = await app.fetchval("SELECT count(*) FROM ops")
        assert contents == ["bob's own"] and ops == 1
        # With no user declared, nothing at all.
        assert await app.fetchval("SELECT count(*) FROM memories") == 0
    finally:
        await app.close()
