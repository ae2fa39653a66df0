"""The memory endpoints through HTTP on a real daemon: store, get, list, update, delete,
recall, secret, id prefixes, dedup, and the OpenAPI description."""

from __future__ import annotations

import json

import httpx
import jsonschema
import pytest

from memory_core.config import Settings
from memoryd.api.app import create_app
from tests.openapi import documented_routes, served_routes
from tests.support import Daemon


@pytest.fixture
def client(shared_daemon: Daemon) -> httpx.Client:
    return shared_daemon.client()


def store(client: httpx.Client, content: str, **fields: object) -> dict[str, object]:
    response = client.post("/api/memories", json={"content": content, **fields})
    assert response.status_code in (200, 201), response.text
    body: dict[str, object] = response.json()
    return body


def test_store_get_list_update_delete(client: httpx.Client) -> None:
    created = client.post(
        "/api/memories",
        json={
            "content": "The staging cluster runs in eu-west-1",
            "category": "fact",
            "tags": "infra, AWS",
            "expanded_keywords": "region ireland kubernetes",
            "importance": 0.7,
            "project": "platform",
        },
    )
    assert created.status_code == 201
    out = created.json()
    assert out["category"] == "facts" and out["importance"] == 0.7
    assert out["is_sensitive"] is False and "duplicate_of" not in out
    memory_id = out["id"]
    assert len(memory_id) == 36 and memory_id[14] == "7"  # a UUIDv7

    got = client.get(f"/api/memories/{memory_id}").json()
    assert got["content"] == "The staging cluster runs in eu-west-1"
    assert got["tags"] == ["infra", "aws"]
    assert got["project"] == "platform" and got["source"] == "manual"
    assert got["created_at"] == got["updated_at"] and got["created_at"].endswith("+00:00")

    listed = client.get("/api/memories", params={"project": "platform"}).json()
    assert [m["id"] for m in listed["memories"]] == [memory_id] and listed["total"] == 1
    assert client.get("/api/memories", params={"tag": "aws"}).json()["total"] >= 1

    updated = client.put(
        f"/api/memories/{memory_id}", json={"importance": 0.9, "tags": ["infra", "ireland"]}
    )
    assert updated.status_code == 200
    assert updated.json()["updated"] == memory_id
    after = client.get(f"/api/memories/{memory_id}").json()
    assert after["importance"] == 0.9 and after["tags"] == ["infra", "ireland"]
    assert after["content"] == got["content"] and after["project"] == "platform"

    cleared = client.put(f"/api/memories/{memory_id}", json={"project": None}).json()
    assert cleared["memory"]["project"] is None

    deleted = client.delete(f"/api/memories/{memory_id}")
    assert deleted.status_code == 200
    assert deleted.json() == {"deleted": memory_id, "preview": got["content"][:50]}
    assert client.get(f"/api/memories/{memory_id}").status_code == 404
    again = client.delete(f"/api/memories/{memory_id}").json()
    assert again["preview"] == "[already deleted]"
    found = client.post("/api/memories/recall", json={"context": "staging cluster"}).json()
    assert memory_id not in [m["id"] for m in found["memories"]]
    assert client.put(f"/api/memories/{memory_id}", json={"importance": 0.1}).status_code == 404


def test_recall_shape_and_filters(client: httpx.Client) -> None:
    a = store(client, "Deploys to the billing service go through ArgoCD", category="decisions")
    b = store(client, "The billing service owner is Priya", category="people")
    found = client.post(
        "/api/memories/recall", json={"context": "who owns billing service", "limit": 5}
    ).json()["memories"]
    ids = [m["id"] for m in found]
    assert a["id"] in ids and b["id"] in ids
    first = found[0]
    assert set(first) >= {
        "id",
        "content",
        "category",
        "tags",
        "importance",
        "is_sensitive",
        "score",
        "project",
        "created_at",
        "updated_at",
    }
    assert ids[0] == b["id"]  # the one that says who owns it
    only_people = client.post(
        "/api/memories/recall", json={"context": "billing service", "category": "person"}
    ).json()["memories"]
    assert [m["id"] for m in only_people] == [b["id"]]
    empty = client.post("/api/memories/recall", json={"context": "   "}).json()
    assert empty == {"memories": []}


def test_id_prefixes_resolve_and_ambiguity_is_a_422(client: httpx.Client) -> None:
    memory = store(client, "Prefix lookups work like git hashes")
    memory_id = str(memory["id"])
    for length in (23, 30):
        got = client.get(f"/api/memories/{memory_id[:length]}")
        assert got.status_code == 200 and got.json()["id"] == memory_id
    assert client.put(f"/api/memories/{memory_id[:23]}", json={"importance": 0.2}).json()["memory"][
        "importance"
    ] == pytest.approx(0.2)
    secret = client.post(f"/api/memories/{memory_id[:23]}/secret").json()
    assert secret["id"] == memory_id and secret["content"] == "Prefix lookups work like git hashes"
    # Two UUIDv7 made within the same time share their first characters.
    other = store(client, "A second memory, to make a short prefix ambiguous")
    common = next(
        i for i, (x, y) in enumerate(zip(memory_id, str(other["id"]), strict=True)) if x != y
    )
    assert common >= 4  # the first 4 hex digits change every 49 days
    ambiguous = client.get(f"/api/memories/{memory_id[:common]}")
    assert ambiguous.status_code == 422
    assert "ambiguous" in ambiguous.json()["error"]["message"]
    assert client.delete(f"/api/memories/{memory_id[:23]}").json()["deleted"] == memory_id


def test_dedup_after_normalisation_merges_tags_and_importance(client: httpx.Client) -> None:
    first = client.post(
        "/api/memories",
        json={
            "content": "Use   Postgres 16 for the  event store",
            "tags": ["db"],
            "importance": 0.4,
            "expanded_keywords": "database",
        },
    )
    assert first.status_code == 201
    memory_id = first.json()["id"]
    again = client.post(
        "/api/memories",
        json={
            "content": "  use postgres 16 FOR the event store\n",
            "tags": "db,storage",
            "importance": 0.8,
            "expanded_keywords": "sql database",
        },
    )
    assert again.status_code == 200
    assert again.json()["duplicate_of"] == memory_id and again.json()["id"] == memory_id
    merged = client.get(f"/api/memories/{memory_id}").json()
    assert merged["tags"] == ["db", "storage"]
    assert merged["importance"] == 0.8
    assert merged["expanded_keywords"] == "database sql"
    assert merged["content"] == "Use   Postgres 16 for the  event store"
    # A lower importance never lowers the stored one.
    store(client, "USE POSTGRES 16 FOR THE EVENT STORE", importance=0.1)
    assert client.get(f"/api/memories/{memory_id}").json()["importance"] == 0.8
    listed = client.get("/api/memories", params={"tag": "storage"}).json()
    assert listed["total"] == 1
    # Once deleted, the same content is a new memory.
    client.delete(f"/api/memories/{memory_id}")
    fresh = client.post("/api/memories", json={"content": "use postgres 16 for the event store"})
    assert fresh.status_code == 201 and fresh.json()["id"] != memory_id


def test_secret_of_a_plain_memory_and_of_a_deleted_one(client: httpx.Client) -> None:
    memory = store(client, "Plain memories come back from the secret endpoint too")
    out = client.post(f"/api/memories/{memory['id']}/secret").json()
    assert out == {
        "id": memory["id"],
        "content": "Plain memories come back from the secret endpoint too",
        "is_sensitive": False,
    }
    client.delete(f"/api/memories/{memory['id']}")
    gone = client.post(f"/api/memories/{memory['id']}/secret")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


def test_list_pages_and_stats(client: httpx.Client) -> None:
    ids = [str(store(client, f"Paging item number {n}", project="paging")["id"]) for n in range(5)]
    page1 = client.get("/api/memories", params={"project": "paging", "limit": 2}).json()
    page2 = client.get(
        "/api/memories", params={"project": "paging", "limit": 2, "offset": 2}
    ).json()
    page3 = client.get(
        "/api/memories", params={"project": "paging", "limit": 2, "offset": 4}
    ).json()
    seen = [m["id"] for p in (page1, page2, page3) for m in p["memories"]]
    assert seen == list(reversed(ids))  # newest first, no overlap, nothing missed
    assert page1["total"] == 5
    stats = client.get("/api/stats").json()
    assert stats["by_project"]["paging"] == 5
    assert stats["total"] == client.get("/health").json()["memories"]
    assert stats["db_bytes"] > 0


def test_openapi_describes_every_route_the_app_serves(client: httpx.Client) -> None:
    described = documented_routes(client.get("/openapi.json").json())
    served = served_routes(create_app(Settings()))
    assert served - described == set()
    assert described - served == set()


def test_answers_match_the_models_the_openapi_document_names(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()

    def check(method: str, path: str, response: httpx.Response) -> None:
        documented = spec["paths"][path][method]["responses"][str(response.status_code)]
        schema = documented["content"]["application/json"]["schema"]
        root = {**schema, "components": spec["components"]}
        jsonschema.Draft202012Validator.check_schema(root)
        jsonschema.Draft202012Validator(root).validate(response.json())

    created = client.post("/api/memories", json={"content": "Schemas: the answers match"})
    check("post", "/api/memories", created)
    again = client.post("/api/memories", json={"content": "Schemas: the answers match"})
    assert again.status_code == 200 and "duplicate_of" in again.json()
    check("post", "/api/memories", again)
    memory_id = created.json()["id"]
    secret = client.post("/api/memories", json={"content": "password: hunter2-schemas"})
    item = "/api/memories/{id}"
    check("get", "/health", client.get("/health"))
    check("get", "/api/stats", client.get("/api/stats"))
    check("get", "/api/memories", client.get("/api/memories"))
    check("get", item, client.get(f"/api/memories/{memory_id}"))
    check("put", item, client.put(f"/api/memories/{memory_id}", json={"importance": 0.9}))
    recalled = client.post("/api/memories/recall", json={"context": "schemas answers"})
    assert recalled.json()["memories"], recalled.text
    check("post", "/api/memories/recall", recalled)
    check(
        "post",
        "/api/memories/{id}/secret",
        client.post(f"/api/memories/{secret.json()['id']}/secret"),
    )
    imported = client.post("/api/memories/import", json=[{"content": "Schemas: imported"}])
    check("post", "/api/memories/import", imported)
    check("delete", item, client.delete(f"/api/memories/{memory_id}"))
    check("get", item, client.get(f"/api/memories/{memory_id}"))  # the 404's error envelope


def test_request_bodies_may_carry_fields_we_do_not_read(client: httpx.Client) -> None:
    # Original-project clients send fields we do not read: ignored, not a 422.
    created = client.post(
        "/api/memories", json={"content": "Unknown fields are ignored", "metadata": {"a": 1}}
    )
    assert created.status_code == 201, created.text
    patched = client.put(f"/api/memories/{created.json()['id']}", json={"importance": 1, "x": 2})
    recalled = client.post("/api/memories/recall", json={"context": "unknown", "extra": True})
    assert (patched.status_code, recalled.status_code) == (200, 200)


def test_a_memory_that_supersedes_another_wins_and_keeps_the_old_for_history(
    client: httpx.Client,
) -> None:
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/api/memories"]["post"]["requestBody"]["content"]["application/json"]
    name = body["schema"]["$ref"].rsplit("/", 1)[1]
    assert "supersedes" in spec["components"]["schemas"][name]["properties"]

    old = store(client, "Our CI pipelines run on CircleCI", category="decisions")["id"]
    new = store(
        client,
        "CI moved from CircleCI to GitHub Actions in January",
        category="decisions",
        supersedes=str(old)[:18],  # a unique prefix is enough, as for every id
    )["id"]
    assert client.get(f"/api/memories/{new}").json()["supersedes"] == old
    assert client.get(f"/api/memories/{old}").json()["supersedes"] is None
    found = client.post("/api/memories/recall", json={"context": "where do CI pipelines run"})
    ranked = [m["id"] for m in found.json()["memories"]]
    assert ranked.index(new) < ranked.index(old)
    exported = [json.loads(line) for line in client.get("/api/memories/export").text.splitlines()]
    assert {m["id"]: m["supersedes"] for m in exported}[new] == old


def test_supersedes_naming_a_deleted_memory_is_a_422_and_stores_nothing(
    client: httpx.Client,
) -> None:
    gone = store(client, "A memory deleted before it could be replaced")["id"]
    assert client.delete(f"/api/memories/{gone}").status_code == 200
    total = client.get("/api/memories", params={"limit": 1}).json()["total"]
    response = client.post("/api/memories", json={"content": "Its replacement", "supersedes": gone})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid" and "deleted" in error["message"]
    assert "supersedes" in error["message"]
    assert client.get("/api/memories", params={"limit": 1}).json()["total"] == total
