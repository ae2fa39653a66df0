"""The behaviours the original's own tests/test_api.py asserts of its REST API, replayed against
memory-hub on real PostgreSQL with the original's HTTP client. Where the hub deliberately
differs, the test pins the hub's answer and docs/hub.md ("Migrating from claude-memory-mcp")
says why. Sharing and links are other helpers' routes and have their own tests."""

from __future__ import annotations

import json
import urllib.error

import pytest

from tests.contract_original.client import ApiError, OriginalApi
from tests.hubs import KEYS
from tests.support import HubServer

ORIGINAL_FOLDS = [("Gotcha", "gotchas"), (" INFRA ", "infrastructure"), ("bug", "gotchas"),
                  ("procedures", "runbook"), ("incident", "incidents"),
                  ("reference", "references"), ("project", "projects")]  # fmt: skip


def _status(api: OriginalApi, method: str, path: str, body: object = None) -> int:
    """The status of one request as its client sees it (200 for any success)."""
    try:
        api.call(method, path, body)
    except ApiError as exc:
        return exc.status
    return 200


def test_health_auth_store_list_recall(api: OriginalApi) -> None:
    health = api.call("GET", "/health")
    assert health["status"] == "ok"  # the hub adds db and version (docs/hub.md)
    assert api.call("GET", "/api/auth-check") == {"status": "ok", "user_id": "alice"}
    stored = api.call(
        "POST", "/api/memories", {"content": "user memory", "category": "facts", "importance": 0.7}
    )
    assert (stored["id"], stored["category"], stored["importance"]) == (1, "facts", 0.7)
    listed = api.call("GET", "/api/memories?limit=10000")
    assert listed["total"] == 1 and listed["memories"][0]["owner"] == "alice"
    recalled = api.call("POST", "/api/memories/recall", {"context": "user memory"})
    assert recalled["memories"][0]["content"] == "user memory"
    assert recalled["memories"][0]["owner"] == "alice"
    assert _status(api, "GET", "/api/memories?limit=10001") == 422
    for query in ("a | b & c", "(foobar) baz", "!!!", ":*"):  # tsquery syntax never a 500
        api.call("POST", "/api/memories/recall", {"context": query})


def test_delete_secret_and_unknown_ids(api: OriginalApi) -> None:
    api.call("POST", "/api/memories", {"content": "my plain value"})
    assert api.call("POST", "/api/memories/1/secret") == {
        "id": 1,
        "uuid": api.call("GET", "/api/memories/1")["uuid"],
        "category": "facts",
        "content": "my plain value",
        "is_sensitive": False,
        "source": "plaintext",
    }
    deleted = api.call("DELETE", "/api/memories/1")
    assert deleted["deleted"] == 1 and deleted["preview"] == "my plain value"
    assert api.call("DELETE", "/api/memories/1")["preview"] == "[already deleted]"
    # Never stored: 404 here (the original answers 200 "[already deleted]"; its clients count
    # a 404 on delete as done).
    for method, path in (
        ("DELETE", "/api/memories/999"),
        ("POST", "/api/memories/999/secret"),
        ("GET", "/api/memories/999"),
        ("PUT", "/api/memories/999"),
        ("POST", "/api/memories/1/secret"),  # deleted
    ):
        assert _status(api, method, path, {"importance": 0.1}) == 404, path


def test_import_answers_a_list_of_id_category_importance(api: OriginalApi) -> None:
    answer = api.call(
        "POST",
        "/api/memories/import",
        [{"content": "memory one", "category": "lessons"}, {"content": "two", "tags": "a,b"}],
    )
    assert [(m["id"], m["category"], m["importance"]) for m in answer] == [
        (1, "lessons", 0.5),
        (2, "facts", 0.5),
    ]


def test_sync_feed_whole_incremental_and_deleted(api: OriginalApi) -> None:
    for text in ("first", "second"):
        api.call("POST", "/api/memories", {"content": text, "tags": "x, Y"})
    whole = api.call("GET", "/api/memories/sync")
    assert [m["id"] for m in whole["memories"]] == [1, 2] and "server_time" in whole
    assert whole["memories"][0]["tags"] == "x,y"  # text, as its cache stores it
    api.call("DELETE", "/api/memories/1")
    since = api.call("GET", "/api/memories/sync?since=" + whole["server_time"].replace("+", "%2B"))
    assert [(m["id"], m["deleted_at"] is not None) for m in since["memories"]] == [(1, True)]
    assert [m["id"] for m in api.call("GET", "/api/memories/sync")["memories"]] == [2]


@pytest.mark.parametrize(("written", "stored"), ORIGINAL_FOLDS)
def test_store_and_update_fold_categories(api: OriginalApi, written: str, stored: str) -> None:
    assert api.call("POST", "/api/memories", {"content": "x", "category": written})["category"] == (
        stored
    )
    api.call("PUT", "/api/memories/1", {"category": "Lessons"})
    assert api.call("GET", "/api/memories/1")["category"] == "lessons"


def test_non_canonical_categories_are_refused_listing_the_allowed_set(api: OriginalApi) -> None:
    for method, path in (("POST", "/api/memories"), ("PUT", "/api/memories/1")):
        if method == "PUT":
            api.call("POST", "/api/memories", {"content": "present"})
        with pytest.raises(ApiError) as refused:
            api.call(method, path, {"content": "x", "category": "recipes"})
        assert refused.value.status == 422
        for canonical in ("facts", "gotchas", "post-mortems", "architecture", "sessions"):
            assert canonical in str(refused.value)


def test_content_bound_counts_characters_not_bytes(api: OriginalApi) -> None:
    assert _status(api, "POST", "/api/memories", {"content": "é" * 1400}) == 200
    assert _status(api, "POST", "/api/memories", {"content": "é" * 1401}) == 422
    assert _status(api, "PUT", "/api/memories/1", {"content": "x" * 1401}) == 422


def test_categories_and_tags_of_the_caller_only(hub_server: HubServer, api: OriginalApi) -> None:
    api.call("POST", "/api/memories", {"content": "a", "category": "gotchas", "tags": "k8s,net"})
    api.call("POST", "/api/memories", {"content": "b", "tags": ["k8s"]})
    bob = OriginalApi(hub_server.url, KEYS["bob"])
    bob.call("POST", "/api/memories", {"content": "c", "category": "people", "tags": "bobs"})
    assert api.call("GET", "/api/categories") == {"categories": ["facts", "gotchas"]}
    assert api.call("GET", "/api/tags") == {
        "tags": [{"tag": "k8s", "count": 2}, {"tag": "net", "count": 1}]
    }


def test_bad_input_is_a_4xx_never_a_500(api: OriginalApi) -> None:
    api.call("POST", "/api/memories", {"content": "still here"})
    many = [f"t{i}" for i in range(10_000)]
    for body in ({"content": "x", "tags": many}, {"content": "x", "tags": ",".join(many)}):
        assert _status(api, "POST", "/api/memories", body) == 422
        assert _status(api, "PUT", "/api/memories/1", body) == 422
    huge = "c" * 1_000_000
    # Over the body limit as a store (413); within an import's, refused by name (422), or
    # by default that row skipped (the rest imported: tests/hub/test_import_skips.py).
    assert _status(api, "POST", "/api/memories", {"content": "x", "category": huge}) == 413
    bad_row = [{"content": "x", "category": huge}]
    assert _status(api, "POST", "/api/memories/import?skip_invalid=0", bad_row) == 422
    assert api.call("POST", "/api/memories/import", bad_row) == []
    for bad in ("-1", "1e309", "99999999999999999999", "0", "1.5", "%20"):
        for method in ("GET", "PUT", "DELETE"):
            status = _status(api, method, f"/api/memories/{bad}", {"importance": 0.1})
            assert status in (404, 422), (method, bad, status)
        assert _status(api, "POST", f"/api/memories/{bad}/secret") in (404, 422)
    assert api.call("GET", "/api/memories")["total"] == 1


def test_a_bad_key_is_401_and_its_sync_latches_on_it(hub_server: HubServer) -> None:
    wrong = OriginalApi(hub_server.url, "not-a-key-0000000")
    with pytest.raises(urllib.error.HTTPError) as refused:
        wrong.raw("GET", "/api/auth-check")
    assert refused.value.code == 401
    assert json.loads(refused.value.read())["error"]["code"] == "unauthorized"
