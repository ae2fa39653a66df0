"""Text the daemon cannot keep or serve (lone surrogates, NUL), times out of range, and JSON
too deep or with integers too long to convert: a 422 or 400 on a real daemon, never a 500, and
list, recall and export keep working afterwards (issue 17, defects 3 and 10)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.hostile_text import (
    BODIES,
    DEEP,
    DEEP_FIELD,
    HUGE_INT,
    PATCHES,
    SURROGATE,
    raw,
)
from tests.support import Daemon, running_daemon

J = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[Daemon, str]]:
    with running_daemon() as running:
        seeded = running.client().post("/api/memories", json={"content": "Seed canary memory"})
        assert seeded.status_code == 201
        yield running, seeded.json()["id"]


def _still_serves(client: httpx.Client) -> str:
    assert client.get("/api/memories").status_code == 200
    assert client.post("/api/memories/recall", json={"context": "canary"}).status_code == 200
    export = client.get("/api/memories/export", params={"include_sensitive": "1"})
    assert export.status_code == 200
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert len(lines) == 1  # the seed, whole: no cut-off stream
    return export.text


@pytest.mark.parametrize("name", sorted(BODIES))
def test_hostile_text_is_a_422_on_store_update_and_import(
    shared: tuple[Daemon, str], name: str
) -> None:
    daemon, seed = shared
    client = daemon.client()
    before = _still_serves(client)
    for method, path, payload in (
        ("POST", "/api/memories", BODIES[name]),
        ("PUT", f"/api/memories/{seed}", PATCHES[name]),
        ("POST", "/api/memories/import", [BODIES[name]]),
    ):
        r = client.request(method, path, content=raw(payload), headers=J)
        assert r.status_code == 422, (method, path, r.text)
        assert r.json()["error"]["code"] == "invalid"
    assert _still_serves(client) == before


@pytest.mark.parametrize(
    "body",
    [
        {"context": "x\x00"},
        {"context": "x", "expanded_query": SURROGATE},
        {"context": "x", "project": SURROGATE},
    ],
    ids=["nul-context", "surrogate-expanded", "surrogate-project"],
)
def test_hostile_recall_is_a_422(shared: tuple[Daemon, str], body: dict[str, Any]) -> None:
    r = shared[0].client().post("/api/memories/recall", content=raw(body), headers=J)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("params", [{"tag": "a\x00"}, {"project": "p\x00"}], ids=["tag", "project"])
def test_nul_in_a_list_filter_is_a_422(shared: tuple[Daemon, str], params: Any) -> None:
    r = shared[0].client().get("/api/memories", params=params)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    "created_at",
    ["0001-01-01T00:00:00+00:00", "1969-12-31T23:59:59+00:00"],
    ids=["year-1", "before-1970"],
)
def test_an_import_time_out_of_range_is_a_422(shared: tuple[Daemon, str], created_at: str) -> None:
    client = shared[0].client()
    before = _still_serves(client)
    item = {"content": "an old memory", "created_at": created_at}
    r = client.post("/api/memories/import", json=[item])
    assert r.status_code == 422, r.text
    assert _still_serves(client) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/memories", DEEP),
        ("/api/memories", DEEP_FIELD),
        ("/api/memories", HUGE_INT),
        ("/api/memories/recall", DEEP),
        ("/api/memories/import", DEEP),
        ("/api/memories/import", b"[" + HUGE_INT + b"]"),
        ("/api/hooks/prompt", DEEP),
    ],
    ids=["store", "store-field", "store-huge-int", "recall", "import", "import-huge-int", "hook"],
)
def test_deep_or_huge_json_is_a_4xx(shared: tuple[Daemon, str], path: str, body: bytes) -> None:
    client = shared[0].client()
    r = client.post(path, content=body, headers=J)
    assert 400 <= r.status_code < 500, r.text
    assert set(r.json()["error"]) == {"code", "message"}
    _still_serves(client)
