"""Push and pull: idempotency, acks, tombstones, clock skew, limits, materialisation."""

from __future__ import annotations

import os

from memory_core.ids import uuid7
from tests.hub.ops import delete, put, replica, sealed_put
from tests.hubs import HubHarness


async def test_push_pull_and_retry_is_duplicate(hub: HubHarness) -> None:
    alice = hub.client("alice")
    rep, hlc = replica(), hub.clock.ms << 16
    ops = [
        put(rep, i + 1, uuid7(), hlc + i, content=f"note {i}", category="facts") for i in range(3)
    ]
    r = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": ops})
    assert r.status_code == 200, r.text
    first = r.json()
    assert [a["status"] for a in first["acks"]] == ["inserted"] * 3
    assert [a["seq"] for a in first["acks"]] == [1, 2, 3] and first["head_seq"] == 3
    # The response was lost: the retry gets the original seqs back and nothing is copied.
    retry = (await alice.post("/api/sync/push", json={"replica_id": rep, "ops": ops})).json()
    assert [(a["status"], a["seq"]) for a in retry["acks"]] == [("duplicate", s) for s in (1, 2, 3)]
    pulled = (await alice.get("/api/sync/pull", params={"after": 0, "limit": 2})).json()
    assert [o["seq"] for o in pulled["ops"]] == [1, 2] and pulled["has_more"] is True
    assert pulled["next_after"] == 2 and pulled["ops"][0]["fields"]["content"] == "note 0"
    rest = (await alice.get("/api/sync/pull", params={"after": 2})).json()
    assert [o["seq"] for o in rest["ops"]] == [3] and rest["has_more"] is False
    # Pushed plaintext ops are materialised for REST reads.
    listed = (await alice.get("/api/memories")).json()
    assert sorted(m["content"] for m in listed["memories"]) == ["note 0", "note 1", "note 2"]


async def test_rest_writes_become_ops_stamped_by_the_hub(hub: HubHarness) -> None:
    alice = hub.client("alice")
    memory_id = (await alice.post("/api/memories", json={"content": "via rest"})).json()["uuid"]
    pulled = (await alice.get("/api/sync/pull")).json()["ops"]
    assert len(pulled) == 1
    op = pulled[0]
    assert op["entity_id"] == memory_id and op["kind"] == "put"
    assert op["fields"]["content"] == "via rest" and "created_ms" in op["field_mask"]
    assert len(op["replica_id"]) == 32
    await alice.delete(f"/api/memories/{memory_id}")
    after = (await alice.get("/api/sync/pull")).json()["ops"]
    # The delete purged the put's body from the log; only the tombstone op remains.
    assert [o["kind"] for o in after] == ["del"]


async def test_tombstone_wins_and_late_put_is_obsolete(hub: HubHarness) -> None:
    alice = hub.client("alice")
    rep, hlc, entity = replica(), hub.clock.ms << 16, uuid7()
    await alice.post(
        "/api/sync/push",
        json={
            "replica_id": rep,
            "ops": [put(rep, 1, entity, hlc, content="soon gone"), delete(rep, 2, entity, hlc + 1)],
        },
    )
    other = replica()
    late = put(other, 1, entity, hlc + 99, content="concurrent edit")
    r = (await alice.post("/api/sync/push", json={"replica_id": other, "ops": [late]})).json()
    assert r["acks"] == [{"op_id": late["op_id"], "status": "obsolete", "seq": None}]
    assert (await alice.get(f"/api/memories/{entity}")).status_code == 404
    kinds = [o["kind"] for o in (await alice.get("/api/sync/pull")).json()["ops"]]
    assert kinds == ["del"]


async def test_last_writer_wins_per_field_by_hlc(hub: HubHarness) -> None:
    alice = hub.client("alice")
    a, b, entity, hlc = replica(), replica(), uuid7(), hub.clock.ms << 16
    newer = put(b, 1, entity, hlc + 10, content="newer text", importance=0.9)
    older = put(a, 1, entity, hlc + 5, content="older text", category="decisions")
    await alice.post("/api/sync/push", json={"replica_id": b, "ops": [newer]})
    await alice.post("/api/sync/push", json={"replica_id": a, "ops": [older]})
    got = (await alice.get(f"/api/memories/{entity}")).json()
    assert got["content"] == "newer text" and got["category"] == "decisions"
    assert got["importance"] == 0.9


async def test_clock_skew_is_refused_with_server_time(hub: HubHarness) -> None:
    alice = hub.client("alice")
    rep = replica()
    ok = put(rep, 1, uuid7(), hub.clock.ms << 16, content="fine")
    ahead = put(rep, 2, uuid7(), (hub.clock.ms + 11 * 60_000) << 16, content="from the future")
    r = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": [ok, ahead]})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "clock_skew" and err["server_time"] == hub.clock.ms
    assert err["op_ids"] == [ahead["op_id"]]
    # The request was refused whole.
    assert (await alice.get("/api/sync/pull")).json()["ops"] == []


async def test_push_limits_and_invalid_ops(hub: HubHarness) -> None:
    alice = hub.client("alice")
    rep, hlc = replica(), hub.clock.ms << 16
    many = [put(rep, i + 1, uuid7(), hlc, content="x") for i in range(501)]
    r = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": many})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    huge = put(rep, 1, uuid7(), hlc, content="y" * (65 * 1024))
    r = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": [huge]})
    assert r.status_code == 422 and r.json()["error"]["op_ids"] == [huge["op_id"]]
    wrong_type = put(rep, 1, uuid7(), hlc, importance="very")
    r = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": [wrong_type]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_op"
    r = await alice.post("/api/sync/push", content=b"x" * (9 * 1024 * 1024))
    assert r.status_code == 413
    first = put(rep, 1, uuid7(), hlc, content="one")
    await alice.post("/api/sync/push", json={"replica_id": rep, "ops": [first]})
    clone = put(rep, 1, uuid7(), hlc + 1, content="another db with my replica id")
    r = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": [clone]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "replica_collision"
    changed = {**first, "fields": {"content": "same op id, other body"}}
    r = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": [changed]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "op_collision"
    r = await alice.get("/api/sync/pull", params={"after": -1})
    assert r.status_code == 422


async def test_client_sealed_content_is_stored_opaque(hub: HubHarness) -> None:
    alice = hub.client("alice")
    rep, entity, blob = replica(), uuid7(), b"\x01" + os.urandom(60)
    op = sealed_put(rep, 1, entity, hub.clock.ms << 16, blob, is_sensitive=True, tags=["k8s"])
    assert (
        await alice.post("/api/sync/push", json={"replica_id": rep, "ops": [op]})
    ).status_code == 200
    pulled = (await alice.get("/api/sync/pull")).json()["ops"][0]
    assert pulled["sealed"] == op["sealed"] and pulled["key_id"] == op["key_id"]
    got = (await alice.get(f"/api/memories/{entity}")).json()
    assert got["is_sensitive"] and got["content"].startswith("[SENSITIVE")
    r = await alice.post(f"/api/memories/{entity}/secret")
    assert r.status_code == 409 and r.json()["error"]["code"] == "sealed_by_client"


async def test_end_to_end_user_gets_a_clear_error_from_rest(hub: HubHarness) -> None:
    alice = hub.client("alice")
    rep, entity = replica(), uuid7()
    op = {
        "replica_id": rep,
        "replica_seq": 1,
        "op_id": uuid7(),
        "entity_id": entity,
        "hlc": hub.clock.ms << 16,
        "kind": "put",
        "field_mask": ["category", "content"],
        "key_id": "0123456789abcdef",
        "sealed": "AQIDBA==",
    }
    assert (
        await alice.post("/api/sync/push", json={"replica_id": rep, "ops": [op]})
    ).status_code == 200
    for call in (
        alice.get("/api/memories"),
        alice.get(f"/api/memories/{entity}"),
        alice.post("/api/memories/recall", json={"context": "x"}),
        alice.post("/api/memories", json={"content": "plain"}),
    ):
        r = await call
        assert r.status_code == 409 and r.json()["error"]["code"] == "end_to_end"
        assert "end-to-end" in r.json()["error"]["message"]
    assert len((await alice.get("/api/sync/pull")).json()["ops"]) == 1


async def test_a_pushed_supersedes_is_checked_stored_and_returned(hub: HubHarness) -> None:
    alice = hub.client("alice")
    rep, hlc = replica(), hub.clock.ms << 16
    old, new = uuid7(), uuid7()
    bad = put(rep, 1, new, hlc, content="newer", supersedes="not an id!")
    r = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": [bad]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_op"
    ops = [
        put(rep, 1, old, hlc, content="older"),
        put(rep, 2, new, hlc + 1, content="newer", supersedes=old),
    ]
    r = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": ops})
    assert r.status_code == 200, r.text
    assert (await alice.get(f"/api/memories/{new}")).json()["supersedes"] == old
    pulled = (await alice.get("/api/sync/pull")).json()["ops"]
    assert pulled[1]["fields"]["supersedes"] == old and "supersedes" in pulled[1]["field_mask"]
