"""The REST API against the original project's documented shapes, and bad input."""

from __future__ import annotations

from tests.hubs import HubHarness


async def test_store_get_list_update_delete_round_trip(hub: HubHarness) -> None:
    alice = hub.client("alice")
    r = await alice.post(
        "/api/memories",
        json={
            "content": "I prefer Svelte for new frontend apps",
            "category": "preference",
            "tags": "frontend, UI",
            "expanded_keywords": "javascript framework",
            "importance": 0.8,
        },
    )
    assert r.status_code == 200, r.text
    stored = r.json()
    assert set(stored) >= {"id", "uuid", "category", "importance"}
    assert stored["category"] == "preferences" and stored["importance"] == 0.8
    memory_id = stored["id"]  # the original's integer id; `uuid` names it too
    assert memory_id == 1

    got = (await alice.get(f"/api/memories/{memory_id}")).json()
    assert got == (await alice.get(f"/api/memories/{stored['uuid']}")).json()
    assert got["content"] == "I prefer Svelte for new frontend apps"
    assert got["tags"] == "frontend,ui" and got["owner"] == "alice"  # as the original answers
    assert got["created_at"].endswith("+00:00")

    listed = (await alice.get("/api/memories", params={"category": "preferences"})).json()
    assert listed["total"] == 1 and listed["memories"][0]["id"] == memory_id

    r = await alice.put(f"/api/memories/{memory_id}", json={"importance": 0.3, "tags": ["web"]})
    assert r.status_code == 200
    assert r.json()["updated"] == memory_id
    assert r.json()["memory"]["importance"] == 0.3 and r.json()["memory"]["tags"] == "web"

    r = await alice.delete(f"/api/memories/{memory_id}")
    assert r.json() == {
        "deleted": memory_id,
        "uuid": stored["uuid"],
        "preview": "I prefer Svelte for new frontend apps",
    }
    again = await alice.delete(f"/api/memories/{memory_id}")
    assert again.status_code == 200 and again.json()["preview"] == "[already deleted]"
    assert (await alice.get(f"/api/memories/{memory_id}")).status_code == 404
    assert (await alice.get("/api/memories")).json()["total"] == 0


async def test_recall_ranks_content_over_tags_and_filters(hub: HubHarness) -> None:
    alice = hub.client("alice")
    ids = {}
    for name, body in {
        "content": {"content": "The staging cluster runs in eu-west-1", "tags": ["aws"]},
        "tag": {"content": "Deploys need a change ticket", "tags": ["staging"]},
        "other": {"content": "Lunch is at noon", "category": "people"},
    }.items():
        ids[name] = (await alice.post("/api/memories", json=body)).json()["id"]
    r = await alice.post("/api/memories/recall", json={"context": "where is staging?"})
    assert r.status_code == 200
    found = [m["id"] for m in r.json()["memories"]]
    assert found == [ids["content"], ids["tag"]]
    scores = [m["score"] for m in r.json()["memories"]]
    assert scores[0] > scores[1] > 0
    r = await alice.post(
        "/api/memories/recall", json={"context": "staging lunch", "category": "people"}
    )
    assert [m["id"] for m in r.json()["memories"]] == [ids["other"]]
    r = await alice.post("/api/memories/recall", json={"context": "!!! && | :*"})
    assert r.status_code == 200 and r.json() == {"memories": []}


async def test_original_sync_feed_includes_deletions_since(hub: HubHarness) -> None:
    alice = hub.client("alice")
    first = (await alice.post("/api/memories", json={"content": "first fact"})).json()["id"]
    feed = (await alice.get("/api/memories/sync")).json()
    assert [m["id"] for m in feed["memories"]] == [first]
    assert feed["memories"][0]["deleted_at"] is None
    since = feed["server_time"]
    hub.clock.advance(1000)
    await alice.delete(f"/api/memories/{first}")
    second = (await alice.post("/api/memories", json={"content": "second fact"})).json()["id"]
    later = (await alice.get("/api/memories/sync", params={"since": since})).json()
    by_id = {m["id"]: m for m in later["memories"]}
    assert set(by_id) == {first, second}
    assert by_id[first]["deleted_at"] is not None
    assert "first fact" not in str(by_id[first])


async def test_sensitive_memory_is_sealed_and_readable_by_secret(hub: HubHarness) -> None:
    alice = hub.client("alice")
    secret_text = "db password=Hunter2-canary-XYZ"
    r = await alice.post("/api/memories", json={"content": secret_text})
    assert r.status_code == 200 and r.json()["is_sensitive"] is True
    memory_id = r.json()["id"]
    shown = (await alice.get(f"/api/memories/{memory_id}")).json()
    assert shown["content"].startswith("[SENSITIVE")
    assert shown["content"] == f"[SENSITIVE - use secret_get(id={memory_id})]"
    r = await alice.post(f"/api/memories/{memory_id}/secret")
    assert r.json() == {
        "id": memory_id,
        "uuid": shown["uuid"],
        "category": "facts",
        "content": secret_text,
        "is_sensitive": True,
        "source": "local",
    }
    recalled = (await alice.post("/api/memories/recall", json={"context": "password"})).json()
    assert recalled["memories"] == []


async def test_import_keeps_ids_and_reports_existing(hub: HubHarness) -> None:
    alice = hub.client("alice")
    items = [
        {
            "id": "01900000-0000-7000-8000-000000000001",
            "content": "imported one",
            "created_at": "2024-01-02T03:04:05+00:00",
        },
        {"content": "imported two", "tags": "a,b"},
    ]
    r = await alice.post("/api/memories/import", json=items)
    assert r.status_code == 200, r.text
    # The original's answer: one {id, category, importance} per item (ours beside them).
    assert [(m["id"], m["category"], m["importance"], m["status"]) for m in r.json()] == [
        (1, "facts", 0.5, "imported"),
        (2, "facts", 0.5, "imported"),
    ]
    assert r.json()[0]["uuid"] == items[0]["id"]
    again = (await alice.post("/api/memories/import", json=items[:1])).json()
    assert [(m["id"], m["status"]) for m in again] == [(1, "exists")]
    got = (await alice.get("/api/memories/01900000-0000-7000-8000-000000000001")).json()
    assert got["created_at"].startswith("2024-01-02T03:04:05")
    stats = (await alice.get("/api/stats")).json()
    assert stats["total"] == 2 and stats["by_source"] == {"import": 2}


async def test_migrate_secrets_seals_and_strips_the_log(hub: HubHarness) -> None:
    alice = hub.client("alice")
    # Arrives through sync as plaintext (an old client), holding a secret.
    op = {
        "replica_id": "ab" * 16,
        "replica_seq": 1,
        "op_id": "01900000-0000-7000-8000-00000000aaaa",
        "entity_id": "01900000-0000-7000-8000-00000000bbbb",
        "hlc": hub.clock.ms << 16,
        "kind": "put",
        "field_mask": ["content"],
        "fields": {"content": "token=ghp_canaryCANARYcanaryCANARYcanary1234"},
    }
    r = await alice.post("/api/sync/push", json={"replica_id": "ab" * 16, "ops": [op]})
    assert r.status_code == 200, r.text
    r = await alice.post("/api/memories/migrate-secrets")
    assert r.json() == {"migrated": 1}
    pulled = (await alice.get("/api/sync/pull", params={"after": 0})).json()
    assert "canary" not in str(pulled)
    secret = (await alice.post(f"/api/memories/{op['entity_id']}/secret")).json()
    assert "ghp_canary" in secret["content"]


async def test_bad_input_gets_clear_4xx(hub: HubHarness) -> None:
    alice = hub.client("alice")
    cases = [
        (
            alice.post(
                "/api/memories", content=b"{not json", headers={"content-type": "application/json"}
            ),
            400,
            "bad_request",
        ),
        (alice.post("/api/memories", json={"content": 42}), 422, "invalid"),
        (alice.post("/api/memories", json=["a list"]), 422, "invalid"),
        (alice.post("/api/memories", json={"content": "x", "importance": 2}), 422, "invalid"),
        (
            alice.post("/api/memories", json={"content": "x", "category": "nonsense"}),
            422,
            "unknown_category",
        ),
        (alice.post("/api/memories", json={"content": "x" * 1401}), 422, "content_too_long"),
        (alice.post("/api/memories", content=b"x" * (300 * 1024)), 413, "payload_too_large"),
        (alice.get("/api/memories/01900000-0000-7000-8000-000000000009"), 404, "not_found"),
        (alice.get("/api/memories/not-an-id!"), 422, "invalid"),
        (
            alice.put("/api/memories/01900000-0000-7000-8000-000000000009", json={"importance": 1}),
            404,
            "not_found",
        ),
        (alice.get("/api/memories", params={"limit": "lots"}), 422, "invalid"),
        (alice.get("/api/memories/sync", params={"since": "yesterday"}), 422, "invalid"),
        (alice.get("/api/nothing-here"), 404, "not_found"),
        (hub.client(key="wrong-key-123456").get("/api/memories"), 401, "unauthorized"),
        (hub.client().get("/api/memories"), 401, "unauthorized"),
    ]
    for call, status, code in cases:
        r = await call
        assert r.status_code == status, (status, r.text)
        body = r.json()["error"]
        assert body["code"] == code and body["message"], body


async def test_health_and_metrics_without_user_content(hub: HubHarness) -> None:
    alice = hub.client("alice")
    await alice.post("/api/memories", json={"content": "metrics-canary-value"})
    r = await hub.client().get("/health")
    assert r.status_code == 200 and r.json()["db"] == "ok"
    text = (await hub.client().get("/metrics")).text
    assert (
        'memory_hub_requests_total{endpoint="create_memory",method="POST",status="200"} 1' in text
    )
    assert "memory_hub_request_seconds_bucket" in text
    assert "canary" not in text and "alice" not in text


async def test_supersedes_is_stored_and_returned_and_must_name_the_users_live_memory(
    hub: HubHarness,
) -> None:
    alice, bob = hub.client("alice"), hub.client("bob")
    stored = (await alice.post("/api/memories", json={"content": "CI runs on CircleCI"})).json()
    old = stored["uuid"]
    r = await alice.post(  # named by its integer id, as the original's clients name it
        "/api/memories", json={"content": "CI runs on GitHub Actions", "supersedes": stored["id"]}
    )
    assert r.status_code == 200, r.text
    new = r.json()["id"]
    assert (await alice.get(f"/api/memories/{new}")).json()["supersedes"] == old
    assert (await alice.get(f"/api/memories/{old}")).json()["supersedes"] is None

    gone = (await alice.post("/api/memories", json={"content": "short-lived"})).json()["id"]
    await alice.delete(f"/api/memories/{gone}")
    for who, target, words in (
        (bob, old, "no memory"),  # another user's memory is unknown to bob
        (alice, gone, "deleted"),
        (alice, "0000dead-beef-7000-8000-000000000000", "no memory"),
    ):
        before = (await who.get("/api/memories")).json()["total"]
        r = await who.post("/api/memories", json={"content": "a successor", "supersedes": target})
        assert r.status_code == 422, r.text
        assert (
            words in r.json()["error"]["message"] and "supersedes" in r.json()["error"]["message"]
        )
        assert (await who.get("/api/memories")).json()["total"] == before
