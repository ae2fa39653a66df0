"""Sharing on the hub (memory_hub.sharing), on the original project's routes: alice shares with
bob; carol, whom nobody shares with, sees nothing of it on any route."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from memory_core.ids import uuid7
from tests.hubs import HubHarness, ordinary_role


async def _store(client: httpx.AsyncClient, content: str, **fields: Any) -> str:
    r = await client.post("/api/memories", json={"content": content, **fields})
    assert r.status_code in (200, 201), r.text
    body = r.json()
    return str(body.get("uuid", body["id"]))  # the UUID, whichever id the answer leads with


async def _recall(client: httpx.AsyncClient, words: str) -> list[dict[str, Any]]:
    r = await client.post("/api/memories/recall", json={"context": words})
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["memories"]
    return found


def _not_found(r: httpx.Response, memory_id: str) -> None:
    """The answer for another user's memory that is not shared: that of an unknown id."""
    assert r.status_code == 404, r.text
    assert r.json()["error"]["message"] == f"no memory with id {memory_id!r}"


async def test_a_read_share_shows_the_memory_marked_with_its_owner(hub: HubHarness) -> None:
    alice, bob, carol = hub.client("alice"), hub.client("bob"), hub.client("carol")
    shared = await _store(alice, "alice zebra migration plan", tags=["ops"])
    await _store(alice, "alice zebra diary, not shared")
    await _store(bob, "bob zebra notes")

    r = await alice.post(f"/api/memories/{shared}/share", json={"shared_with": "bob"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "shared": 1,  # alice's #1: the original's id, the UUID beside it
        "uuid": shared,
        "with": "bob",
        "permission": "read",
        "secret_get": False,
    }

    mine = (await bob.get("/api/memories/shared-with-me")).json()["memories"]
    assert [(m["id"], m["owner"], m["shared_by"], m["permission"]) for m in mine] == [
        (shared, "alice", "alice", "read")
    ]
    listed = (await bob.get("/api/memories")).json()
    assert listed["total"] == 2
    owners = {m["content"]: m.get("owner") for m in listed["memories"]}
    assert owners == {"bob zebra notes": "bob", "alice zebra migration plan": "alice"}
    recalled = {m["content"]: (m["owner"], m["id"]) for m in await _recall(bob, "zebra")}
    # A shared memory is named by its UUID: alice's #1 would name bob's own #1.
    assert recalled["alice zebra migration plan"] == ("alice", shared)
    got = (await bob.get(f"/api/memories/{shared}")).json()
    assert got["content"] == "alice zebra migration plan" and got["owner"] == "alice"

    # Read-only: bob neither updates nor deletes it, and alice's memory is as it was.
    r = await bob.put(f"/api/memories/{shared}", json={"content": "bob was here"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
    r = await bob.delete(f"/api/memories/{shared}")
    assert r.status_code == 403 and "only its owner" in r.json()["error"]["message"]
    assert (await alice.get(f"/api/memories/{shared}")).json()["content"] == (
        "alice zebra migration plan"
    )
    # Nothing of bob's appears to alice, and her own answers carry no owner mark.
    assert (await alice.get("/api/memories")).json()["total"] == 2
    assert all(m["owner"] == "alice" for m in await _recall(alice, "zebra"))
    # Exports and counts of one's own memories leave shared ones out.
    assert (await bob.get("/api/memories", params={"shared": "false"})).json()["total"] == 1

    shares = (await alice.get("/api/memories/my-shares")).json()
    assert [(s["uuid"], s["shared_with"], s["preview"]) for s in shares["memory_shares"]] == [
        (shared, "bob", "alice zebra migration plan")
    ]
    assert shares["tag_shares"] == []
    assert (await alice.get("/api/users")).json() == {"users": ["bob"]}
    assert (await bob.get("/api/users")).json() == {"users": ["alice"]}

    # carol, whom nobody shares with, sees nothing of it on any route.
    assert (await carol.get("/api/users")).json() == {"users": []}
    assert (await carol.get("/api/memories/shared-with-me")).json() == {"memories": []}
    assert (await carol.get("/api/memories/my-shares")).json() == {
        "memory_shares": [],
        "tag_shares": [],
    }
    assert (await carol.get("/api/memories")).json()["total"] == 0
    assert await _recall(carol, "zebra") == []
    for method, path, body in (
        ("GET", f"/api/memories/{shared}", None),
        ("PUT", f"/api/memories/{shared}", {"content": "carol"}),
        ("DELETE", f"/api/memories/{shared}", None),
        ("POST", f"/api/memories/{shared}/secret", None),
        ("POST", f"/api/memories/{shared}/share", {"shared_with": "carol"}),
        ("DELETE", f"/api/memories/{shared}/share/bob", None),
    ):
        _not_found(await carol.request(method, path, json=body), shared)
    # ...and bob cannot pass alice's memory on, or take alice's share away.
    onward = {"shared_with": "carol"}
    _not_found(await bob.post(f"/api/memories/{shared}/share", json=onward), shared)
    _not_found(await bob.delete(f"/api/memories/{shared}/share/bob"), shared)
    assert len((await alice.get("/api/memories/my-shares")).json()["memory_shares"]) == 1


async def test_a_write_share_lets_the_recipient_update_in_the_owners_log(hub: HubHarness) -> None:
    alice, bob = hub.client("alice"), hub.client("bob")
    shared = await _store(alice, "the deploy runbook says step one")
    r = await alice.post(
        f"/api/memories/{shared}/share", json={"shared_with": "bob", "permission": "write"}
    )
    assert r.json()["permission"] == "write"
    r = await bob.put(f"/api/memories/{shared}", json={"content": "the deploy runbook: step two"})
    assert r.status_code == 200, r.text
    assert r.json()["memory"]["owner"] == "alice"
    assert (await alice.get(f"/api/memories/{shared}")).json()["content"] == (
        "the deploy runbook: step two"
    )
    # The update is alice's: in her log (her machines pull it), none in bob's.
    assert [op["entity_id"] for op in await hub.ops("alice")] == [shared, shared]
    assert await hub.ops("bob") == []
    # Only the owner deletes, whatever the permission.
    assert (await bob.delete(f"/api/memories/{shared}")).status_code == 403
    # Sharing again changes the permission: now read-only.
    await alice.post(f"/api/memories/{shared}/share", json={"shared_with": "bob"})
    assert (await bob.put(f"/api/memories/{shared}", json={"importance": 1})).status_code == 403


async def test_a_tag_share_covers_later_memories_until_unshared(hub: HubHarness) -> None:
    alice, bob = hub.client("alice"), hub.client("bob")
    before = await _store(alice, "kubernetes upgrade notes", tags=["Infra"])
    await _store(alice, "kubernetes diary", tags=["private"])
    r = await alice.post("/api/memories/share-tag", json={"tag": " infra ", "shared_with": "bob"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "shared_tag": "infra",
        "with": "bob",
        "permission": "read",
        "secret_get": False,
    }
    after = await _store(alice, "kubernetes ingress notes", tags="infra,web")
    ids = {m["id"] for m in (await bob.get("/api/memories/shared-with-me")).json()["memories"]}
    assert ids == {before, after}
    assert {m["id"] for m in await _recall(bob, "kubernetes")} == {before, after}
    tags = (await alice.get("/api/memories/my-shares")).json()["tag_shares"]
    assert [(t["tag"], t["shared_with"]) for t in tags] == [("infra", "bob")]
    # Neither the recipient nor a third user can remove alice's tag share: theirs only.
    for other in (bob, hub.client("carol")):
        r = await other.request(
            "DELETE", "/api/memories/share-tag", json={"tag": "infra", "shared_with": "bob"}
        )
        assert r.status_code == 200 and r.json()["removed"] is False, r.text
    assert len((await alice.get("/api/memories/my-shares")).json()["tag_shares"]) == 1
    assert (await hub.client("carol").get("/api/memories/shared-with-me")).json() == {
        "memories": []
    }

    r = await alice.request(
        "DELETE", "/api/memories/share-tag", json={"tag": "infra", "shared_with": "bob"}
    )
    assert r.json() == {"unshared_tag": "infra", "from": "bob", "removed": True}
    assert (await bob.get("/api/memories/shared-with-me")).json() == {"memories": []}
    _not_found(await bob.get(f"/api/memories/{before}"), before)
    assert await _recall(bob, "kubernetes") == []


async def test_a_sensitive_value_needs_a_secret_get_share(hub: HubHarness) -> None:
    alice, bob = hub.client("alice"), hub.client("bob")
    secret = await _store(alice, "the staging password is hunter2-staging", force_sensitive=True)
    await alice.post(f"/api/memories/{secret}/share", json={"shared_with": "bob"})
    seen = (await bob.get("/api/memories/shared-with-me")).json()["memories"][0]
    assert "hunter2" not in seen["content"] and seen["secret_get"] is False
    # Its placeholder names it as bob's secret_get must: by its UUID, not alice's number.
    assert seen["content"] == f"[SENSITIVE - use secret_get(id={secret})]"
    assert "hunter2" not in (await bob.get(f"/api/memories/{secret}")).text
    r = await bob.post(f"/api/memories/{secret}/secret")
    assert r.status_code == 403 and "secret_get" in r.json()["error"]["message"], r.text

    await alice.post(
        f"/api/memories/{secret}/share", json={"shared_with": "bob", "secret_get": True}
    )
    r = await bob.post(f"/api/memories/{secret}/secret")
    assert r.status_code == 200, r.text
    assert r.json()["content"] == "the staging password is hunter2-staging"
    assert r.json()["owner"] == "alice"


async def test_unsharing_and_deleting_end_the_share(hub: HubHarness) -> None:
    alice, bob = hub.client("alice"), hub.client("bob")
    one = await _store(alice, "first shared fact")
    two = await _store(alice, "second shared fact")
    for memory_id in (one, two):
        await alice.post(f"/api/memories/{memory_id}/share", json={"shared_with": "bob"})
    r = await alice.delete(f"/api/memories/{one}/share/bob")
    assert r.json() == {"unshared": 1, "uuid": one, "from": "bob", "removed": True}
    _not_found(await bob.get(f"/api/memories/{one}"), one)
    again = await alice.delete(f"/api/memories/{one}/share/bob")
    assert again.status_code == 200 and again.json()["removed"] is False

    await alice.delete(f"/api/memories/{two}")
    assert (await bob.get("/api/memories/shared-with-me")).json() == {"memories": []}
    assert (await alice.get("/api/memories/my-shares")).json()["memory_shares"] == []
    _not_found(await bob.get(f"/api/memories/{two}"), two)


async def test_bad_shares_are_refused_and_change_nothing(hub: HubHarness) -> None:
    alice, bob = hub.client("alice"), hub.client("bob")
    mine = await _store(alice, "alice's fact")
    bobs = await _store(bob, "bob's fact")
    path = f"/api/memories/{mine}/share"

    r = await alice.post(path, json={"shared_with": "alice"})
    assert r.status_code == 400 and "yourself" in r.json()["error"]["message"]
    r = await alice.post(path, json={"shared_with": "mallory"})
    assert r.status_code == 404 and "no user 'mallory'" in r.json()["error"]["message"]
    r = await alice.post("/api/memories/share-tag", json={"tag": "x", "shared_with": "alice"})
    assert r.status_code == 400
    r = await alice.post("/api/memories/share-tag", json={"tag": "x", "shared_with": "nobody"})
    assert r.status_code == 404
    # A memory alice does not own (bob's), or that does not exist: 404, nothing changed.
    _not_found(await alice.post(f"/api/memories/{bobs}/share", json={"shared_with": "bob"}), bobs)
    unknown = uuid7()
    r = await alice.post(f"/api/memories/{unknown}/share", json={"shared_with": "bob"})
    _not_found(r, unknown)
    for body in (
        {},
        {"shared_with": "bob", "permission": "admin"},
        {"shared_with": "", "permission": "read"},
        {"shared_with": "b" * 101},
        {"shared_with": ["bob"]},
    ):
        r = await alice.post(path, json=body)
        assert r.status_code == 422, (body, r.text)
    for bad_id in ("-1", "1e309", "not-an-id"):
        r = await alice.post(f"/api/memories/{bad_id}/share", json={"shared_with": "bob"})
        assert r.status_code in (404, 422), (bad_id, r.text)
    r = await alice.post("/api/memories/share-tag", json={"tag": "t" * 101, "shared_with": "bob"})
    assert r.status_code == 422
    r = await alice.delete(f"/api/memories/{mine}/share/b%00b")  # found by the fuzz: was a 500
    assert r.status_code == 422, r.text
    r = await alice.request("DELETE", "/api/memories/share-tag", content=b"not json")
    assert r.status_code == 400
    assert (await alice.get("/api/memories/my-shares")).json() == {
        "memory_shares": [],
        "tag_shares": [],
    }
    assert (await bob.get("/api/memories/shared-with-me")).json() == {"memories": []}
    # Without a key, every sharing route is a 401.
    anonymous = hub.client()
    for method, route in (
        ("GET", "/api/users"),
        ("GET", "/api/memories/shared-with-me"),
        ("GET", "/api/memories/my-shares"),
        ("POST", path),
        ("DELETE", f"{path}/bob"),
        ("POST", "/api/memories/share-tag"),
        ("DELETE", "/api/memories/share-tag"),
    ):
        assert (await anonymous.request(method, route)).status_code == 401, route


async def test_the_owner_names_a_memory_by_its_integer_id_too(hub: HubHarness) -> None:
    """Integer ids are per user (memory_hub.ids): alice shares her #1 by it; for bob, `1`
    names his own #1 or nothing, never alice's, which he names by its UUID."""
    alice, bob = hub.client("alice"), hub.client("bob")
    first = await _store(alice, "alice's first memory")
    r = await alice.post("/api/memories/1/share", json={"shared_with": "bob"})
    assert r.status_code == 200 and r.json()["uuid"] == first, r.text
    assert (await bob.get("/api/memories/1")).status_code == 404
    assert (await bob.get(f"/api/memories/{first}")).json()["owner"] == "alice"
    assert (await bob.put("/api/memories/-1", json={"importance": 1})).status_code == 422
    own = await _store(bob, "bob's first memory")
    assert (await bob.get("/api/memories/1")).json()["uuid"] == own
    r = await alice.delete("/api/memories/1/share/bob")
    assert r.json()["removed"] is True


async def test_row_level_security_shows_a_recipient_only_what_is_shared(hub: HubHarness) -> None:
    """Under an ordinary role (superusers bypass row-level security), bob's transaction reads
    alice's shared memory and nothing else of hers, and cannot write share rows as alice."""
    alice = hub.client("alice")
    shared = await _store(alice, "shared with bob")
    await _store(alice, "kept from bob", tags=["secret-project"])
    await alice.post(f"/api/memories/{shared}/share", json={"shared_with": "bob"})
    dsn = hub.settings.database_url
    async with ordinary_role(dsn, "hub_share", "SELECT, INSERT") as app:
        async with app.transaction():
            await app.execute("SELECT set_config('memory_hub.user_id', 'bob', true)")
            contents = [r["content"] for r in await app.fetch("SELECT content FROM memories")]
            shares = await app.fetchval("SELECT count(*) FROM memory_shares")
        assert contents == ["shared with bob"] and shares == 1
        async with app.transaction():
            await app.execute("SELECT set_config('memory_hub.user_id', 'carol', true)")
            assert await app.fetchval("SELECT count(*) FROM memories") == 0
            assert await app.fetchval("SELECT count(*) FROM memory_shares") == 0
        forged = (
            "INSERT INTO tag_shares (owner_id, tag, shared_with, permission, created_ms) "
            "VALUES ('alice', 'secret-project', 'bob', 'read', 0)"
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with app.transaction():
                await app.execute("SELECT set_config('memory_hub.user_id', 'bob', true)")
                await app.execute(forged)
