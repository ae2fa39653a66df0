"""Every kind of bad input gets a 4xx `{"error": {"code", "message"}}`, never a 500, and leaves
the stored data exactly as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import Daemon, running_daemon


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[Daemon, str]]:
    with running_daemon() as running:
        client = running.client()
        seeded = client.post(
            "/api/memories",
            json={"content": "Seed memory that bad requests must not change", "tags": ["seed"]},
        )
        assert seeded.status_code == 201
        yield running, seeded.json()["id"]


def snapshot(client: httpx.Client) -> str:
    response = client.get("/api/memories/export", params={"include_sensitive": "1"})
    assert response.status_code == 200
    return response.text


J = {"content-type": "application/json"}
BIG = b'{"content": "' + b"x" * (300 * 1024) + b'"}'

# (method, path, request kwargs, status, error code, words the message must contain)
CASES: list[tuple[str, str, dict[str, Any], int, str, tuple[str, ...]]] = [
    (
        "POST",
        "/api/memories",
        {"json": {"content": "x", "category": "recipes"}},
        422,
        "unknown_category",
        ("facts", "preferences", "projects", "people", "decisions"),
    ),
    (
        "POST",
        "/api/memories",
        {"json": {"content": "x", "category": "r" * 100_000}},
        422,
        "unknown_category",
        ("gotchas", "post-mortems", "sessions"),
    ),
    (
        "POST",
        "/api/memories",
        {"json": {"content": "x", "tags": [f"t{i}" for i in range(10_000)]}},
        422,
        "invalid",
        ("32",),
    ),
    (
        "POST",
        "/api/memories",
        {"json": {"content": "x", "tags": ",".join(f"t{i}" for i in range(10_000))}},
        422,
        "invalid",
        ("32",),
    ),
    (
        "POST",
        "/api/memories",
        {"json": {"content": "y" * 1401}},
        422,
        "content_too_long",
        ("1401", "1400", "Split"),
    ),
    (
        "POST",
        "/api/memories",
        {"content": b'{"content": "x"', "headers": J},
        400,
        "bad_request",
        (),
    ),
    ("POST", "/api/memories", {"content": b"\xff\xfe", "headers": J}, 400, "bad_request", ()),
    ("POST", "/api/memories", {"content": b"", "headers": J}, 400, "bad_request", ("empty",)),
    ("POST", "/api/memories", {"json": ["content"]}, 422, "invalid", ("object",)),
    ("POST", "/api/memories", {"json": {"content": 42}}, 422, "invalid", ("content",)),
    ("POST", "/api/memories", {"json": {}}, 422, "invalid", ("content",)),
    ("POST", "/api/memories", {"json": {"content": "   "}}, 422, "invalid", ("empty",)),
    (
        "POST",
        "/api/memories",
        {"json": {"content": "x", "importance": "very"}},
        422,
        "invalid",
        ("importance",),
    ),
    (
        "POST",
        "/api/memories",
        {"json": {"content": "x", "importance": 1.5}},
        422,
        "invalid",
        ("importance",),
    ),
    ("POST", "/api/memories", {"json": {"content": "x", "tags": 7}}, 422, "invalid", ("tags",)),
    (
        "POST",
        "/api/memories",
        {"json": {"content": "x", "source": "robot"}},
        422,
        "invalid",
        ("source",),
    ),
    (
        "POST",
        "/api/memories",
        {"json": {"content": "x", "supersedes": "0000dead-beef-7000-8000-000000000000"}},
        422,
        "invalid",
        ("supersedes", "no memory", "nothing was stored"),
    ),
    (
        "POST",
        "/api/memories",
        {"json": {"content": "x", "supersedes": "not-an-id!"}},
        422,
        "invalid",
        ("supersedes", "not a memory id"),
    ),
    (
        "POST",
        "/api/memories",
        {"json": {"content": "x", "supersedes": 42}},
        422,
        "invalid",
        ("supersedes",),
    ),
    ("POST", "/api/memories", {"content": BIG, "headers": J}, 413, "payload_too_large", ()),
    ("GET", "/api/memories/0000dead-beef", {}, 404, "not_found", ()),
    ("GET", "/api/memories/not-an-id!", {}, 422, "invalid", ("not a memory id",)),
    ("PUT", "/api/memories/0000dead", {"json": {"importance": 0.3}}, 404, "not_found", ()),
    ("DELETE", "/api/memories/0000dead", {}, 404, "not_found", ()),
    ("POST", "/api/memories/0000dead/secret", {}, 404, "not_found", ()),
    ("GET", "/api/memories", {"params": {"limit": "abc"}}, 422, "invalid", ("limit",)),
    ("GET", "/api/memories", {"params": {"limit": "0"}}, 422, "invalid", ("limit",)),
    ("GET", "/api/memories", {"params": {"offset": "-1"}}, 422, "invalid", ("offset",)),
    ("GET", "/api/memories", {"params": {"category": "nope"}}, 422, "unknown_category", ()),
    ("POST", "/api/memories/recall", {"json": {"context": "x", "limit": 0}}, 422, "invalid", ()),
    ("POST", "/api/memories/recall", {"json": {"context": "x", "limit": 101}}, 422, "invalid", ()),
    (
        "POST",
        "/api/memories/recall",
        {"json": {"context": "x", "sort_by": "magic"}},
        422,
        "invalid",
        ("sort_by",),
    ),
    (
        "POST",
        "/api/memories/recall",
        {"json": {"context": "x", "category": "nope"}},
        422,
        "unknown_category",
        (),
    ),
    ("POST", "/api/memories/recall", {"json": {"context": None}}, 422, "invalid", ("context",)),
    ("POST", "/api/memories/import", {"json": {"x": 1}}, 422, "invalid", ("array",)),
    (
        "POST",
        "/api/memories/import",
        {"json": [{"content": "fine"}, {"content": "z" * 2000}]},
        422,
        "content_too_long",
        ("item 1",),
    ),
    (
        "POST",
        "/api/memories/import",
        {"json": [{"content": "ok", "created_at": "yesterday"}]},
        422,
        "invalid",
        ("item 0",),
    ),
    ("POST", "/api/memories/import", {"content": b"[{", "headers": J}, 400, "bad_request", ()),
    ("GET", "/api/nothing-here", {}, 404, "not_found", ("/api/nothing-here",)),
    ("PATCH", "/api/memories", {}, 405, "method_not_allowed", ()),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code", "words"),
    CASES,
    ids=[f"{c[0]} {c[1]} {c[3]} {c[4]} #{i}" for i, c in enumerate(CASES)],
)
def test_bad_input_is_a_clear_4xx_and_changes_nothing(
    shared: tuple[Daemon, str],
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
    words: tuple[str, ...],
) -> None:
    daemon, _ = shared
    client = daemon.client()
    before = snapshot(client)
    response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message"}
    assert error["code"] == code
    for word in words:
        assert word in error["message"]
    assert snapshot(client) == before


@pytest.mark.parametrize(
    "body",
    [{}, {"unknown_field": 1}, {"content": None, "tags": None}],
    ids=["empty", "unknown-field", "all-null"],
)
def test_empty_update_is_a_422_and_changes_nothing(
    shared: tuple[Daemon, str], body: dict[str, Any]
) -> None:
    daemon, memory_id = shared
    client = daemon.client()
    before = snapshot(client)
    response = client.put(f"/api/memories/{memory_id}", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"
    assert "nothing to update" in response.json()["error"]["message"]
    assert snapshot(client) == before


@pytest.mark.parametrize(
    "body",
    [
        {"category": "recipes"},
        {"content": "q" * 1401},
        {"importance": -0.1},
        {"tags": ["t"] * 0 + [f"tag{n}" for n in range(40)]},
        {"content": ""},
    ],
    ids=["category", "too-long", "importance", "too-many-tags", "empty-content"],
)
def test_bad_update_changes_nothing(shared: tuple[Daemon, str], body: dict[str, Any]) -> None:
    daemon, memory_id = shared
    client = daemon.client()
    before = snapshot(client)
    response = client.put(f"/api/memories/{memory_id}", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"]
    assert snapshot(client) == before


def test_no_bad_request_reached_the_daemon_log_as_a_500(shared: tuple[Daemon, str]) -> None:
    daemon, memory_id = shared
    health = daemon.client().get("/health").json()
    assert health["status"] == "ok" and health["memories"] == 1
    assert daemon.client().get(f"/api/memories/{memory_id}").json()["tags"] == ["seed"]
