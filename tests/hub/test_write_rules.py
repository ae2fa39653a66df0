"""The hub follows the daemon's rule for writes (memory_core.writes): the same import statuses,
list defaults, sensitivity rule and field checks; an import failing as a request (or any refused
row with `skip_invalid=0`) stores nothing; hostile text, times and bodies are a 4xx and never
poison what the hub serves afterwards. (Rows skipped by an import: test_import_skips.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from memory_core.errors import SecretBackendError
from memory_core.hlc import pack
from memory_hub.sealing import LocalSealer
from tests.hostile_text import BODIES, DEEP, DEEP_FIELD, HUGE_INT, PATCHES, SURROGATE, raw
from tests.hub import ops
from tests.hubs import ENCRYPTION_KEY, HubHarness

LIVE = "01900000-0000-7000-8000-00000000a001"


async def _still_serves(hub: HubHarness) -> None:
    """List, get, recall, the original's feed and stats all answer 200."""
    alice = hub.client("alice")
    for call in (
        alice.get("/api/memories"),
        alice.get("/api/memories/sync"),
        alice.post("/api/memories/recall", json={"context": "canary"}),
        alice.get("/api/stats"),
    ):
        r = await call
        assert r.status_code == 200, r.text


# ------------------------------------------------------------------- one rule for writes


async def test_import_status_of_a_known_id_is_exists_as_on_the_daemon(hub: HubHarness) -> None:
    alice = hub.client("alice")
    item = {"id": LIVE, "content": "imported once"}
    assert (await alice.post("/api/memories/import", json=[item])).status_code == 200
    again = (await alice.post("/api/memories/import", json=[item])).json()
    assert [(m["uuid"], m["status"]) for m in again] == [(LIVE, "exists")]


async def test_list_defaults_to_the_20_newest_changes(hub: HubHarness) -> None:
    alice = hub.client("alice")
    ids = []
    for n in range(25):
        hub.clock.advance(1000)
        body = {"content": f"memory number {n}", "importance": 1.0 if n == 0 else 0.1}
        ids.append((await alice.post("/api/memories", json=body)).json()["id"])
    listed = (await alice.get("/api/memories")).json()
    assert listed["total"] == 25
    assert [m["id"] for m in listed["memories"]] == ids[::-1][:20]


async def test_a_secret_in_tags_or_keywords_seals_the_memory(hub: HubHarness) -> None:
    alice = hub.client("alice")
    token = "ghp_canaryCANARYcanaryCANARYcanary1234"
    r = await alice.post(
        "/api/memories",
        json={"content": "the deploy bot account", "tags": [token], "expanded_keywords": "bot"},
    )
    assert r.status_code == 200 and r.json()["is_sensitive"] is True
    memory_id = r.json()["id"]
    shown = (await alice.get(f"/api/memories/{memory_id}")).json()
    assert shown["content"].startswith("[SENSITIVE") and token not in str(shown)
    secret = (await alice.post(f"/api/memories/{memory_id}/secret")).json()
    assert secret["content"] == "the deploy bot account"

    plain = (await alice.post("/api/memories", json={"content": "the ci runner"})).json()["id"]
    r = await alice.put(f"/api/memories/{plain}", json={"expanded_keywords": f"key {token}"})
    assert r.status_code == 200 and r.json()["memory"]["is_sensitive"] is True
    assert token not in r.text
    secret = (await alice.post(f"/api/memories/{plain}/secret")).json()
    assert secret["content"] == "the ci runner"
    pulled = (await alice.get("/api/sync/pull", params={"after": 0})).text
    assert token not in pulled


@pytest.mark.parametrize(
    "fields",
    [{"category": "recipes"}, {"source": "robot"}, {"content": None}, {"importance": 1.5}],
    ids=["category", "source", "null-content", "importance"],
)
async def test_pushed_fields_get_the_daemons_checks(hub: HubHarness, fields: Any) -> None:
    alice = hub.client("alice")
    replica = ops.replica()
    op = ops.put(replica, 1, LIVE, hub.clock.ms << 16, **fields)
    r = await alice.post("/api/sync/push", json={"replica_id": replica, "ops": [op]})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_op"
    assert r.json()["error"]["op_ids"] == [op["op_id"]]


async def test_equal_hlcs_pick_the_daemons_winner_not_the_larger_replica_id(
    hub: HubHarness,
) -> None:
    """The regression of the tie-break drift: two replicas stamp the same instant. The daemon
    keeps the larger canonical value ("zebra"); the hub used to keep the larger replica id's."""
    alice = hub.client("alice")
    low, high = "1" * 32, "f" * 32
    hlc = pack(hub.clock.ms, 0)
    for replica, content in ((low, "zebra"), (high, "aardvark")):
        op = ops.put(replica, 1, LIVE, hlc, content=content, created_ms=hub.clock.ms)
        r = await alice.post("/api/sync/push", json={"replica_id": replica, "ops": [op]})
        assert r.status_code == 200, r.text
    assert (await alice.get(f"/api/memories/{LIVE}")).json()["content"] == "zebra"


# ---------------------------------------------------------------- import: all or nothing

WHOLE = "/api/memories/import?skip_invalid=0"  # a refused row fails the whole import


async def test_an_import_with_one_bad_item_stores_nothing(hub: HubHarness) -> None:
    alice = hub.client("alice")
    items = [{"content": "first fine"}, {"content": "second fine"}, {"content": "z" * 1500}]
    r = await alice.post(WHOLE, json=items)
    assert r.status_code == 422 and "item 2" in r.json()["error"]["message"]
    assert (await alice.get("/api/memories")).json()["total"] == 0
    assert (await alice.get("/api/sync/pull", params={"after": 0})).json()["ops"] == []


class VaultDownAtThird(LocalSealer):
    """Seals two contents, then fails as an unreachable Vault does (a 502, not a row's fault)."""

    sealed = 0

    async def seal(self, plaintext: str, aad: bytes) -> bytes:
        self.sealed += 1
        if self.sealed == 3:
            raise SecretBackendError("Vault is unreachable (ConnectError)")
        return await super().seal(plaintext, aad)


async def test_an_import_refused_mid_way_stores_nothing(hub: HubHarness) -> None:
    """Vault fails at the third sensitive item after two were sealed: the request fails, and
    neither the rows before it nor the others are stored."""
    alice = hub.client("alice")
    items = [
        {"content": "first fine"},
        {"content": "second fine", "id": LIVE, "is_sensitive": True},
        {"content": "third", "is_sensitive": True},
        {"content": "fourth", "is_sensitive": True},
    ]
    hub.app.state.hub.sealer = VaultDownAtThird(ENCRYPTION_KEY)
    r = await alice.post("/api/memories/import", json=items)
    assert r.status_code == 502 and r.json()["error"]["code"] == "secret_backend"
    assert (await alice.get("/api/memories")).json()["total"] == 0


# ----------------------------------------------------------- hostile text, times, bodies


@pytest.mark.parametrize("name", sorted(BODIES))
async def test_hostile_text_is_a_422_everywhere_and_changes_nothing(
    hub: HubHarness, name: str
) -> None:
    alice = hub.client("alice")
    live = (await alice.post("/api/memories", json={"content": "canary live"})).json()["id"]
    headers = {"content-type": "application/json"}
    for method, path, payload in (
        ("POST", "/api/memories", BODIES[name]),
        ("PUT", f"/api/memories/{live}", PATCHES[name]),
        ("POST", WHOLE, [BODIES[name]]),
    ):
        r = await alice.request(method, path, content=raw(payload), headers=headers)
        assert r.status_code == 422, (method, path, r.text)
        assert r.json()["error"]["code"] == "invalid", r.text
    assert (await alice.get("/api/memories")).json()["total"] == 1
    await _still_serves(hub)


@pytest.mark.parametrize(
    "params",
    [{"tag": "a\x00"}, {"project": "p\x00"}, {"category": "facts\x00"}],
    ids=["tag", "project", "category"],
)
async def test_nul_in_a_list_filter_is_a_422(hub: HubHarness, params: dict[str, str]) -> None:
    r = await hub.client("alice").get("/api/memories", params=params)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    "body",
    [
        {"context": "x\x00y"},
        {"context": "x", "project": "p\x00"},
        {"context": "x", "expanded_query": SURROGATE},
        {"context": "x", "category": "facts\x00"},
    ],
    ids=["context", "project", "expanded", "category"],
)
async def test_hostile_recall_filters_are_a_422(hub: HubHarness, body: dict[str, Any]) -> None:
    r = await hub.client("alice").post(
        "/api/memories/recall", content=raw(body), headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    "change",
    [
        {"fields": {"created_ms": 2**62, "content": "x"}},
        {"fields": {"created_ms": 2**63, "content": "x"}},
        {"fields": {"created_ms": 10**30, "content": "x"}},
        {"fields": {"created_ms": -1, "content": "x"}},
        {"fields": {"content": "nul \x00"}},
        {"fields": {"content": SURROGATE}},
        {"fields": {"tags": ["a\x00"]}},
        {"fields": {"project": SURROGATE}},
        {"fields": {"importance": float("nan")}},
        {"sealed": "not base64 at all!", "key_id": "0123456789abcdef"},
        {"hlc": 2**63},
    ],
    ids=[
        "created-2^62",
        "created-2^63",
        "created-huge",
        "created-negative",
        "nul-content",
        "surrogate-content",
        "nul-tag",
        "surrogate-project",
        "nan-importance",
        "sealed-not-base64",
        "hlc-2^63",
    ],
)
async def test_a_poisoned_push_is_refused_and_the_hub_keeps_serving(
    hub: HubHarness, change: dict[str, Any]
) -> None:
    alice = hub.client("alice")
    await alice.post("/api/memories", json={"content": "canary live"})
    replica = ops.replica()
    op = ops.put(replica, 1, LIVE, hub.clock.ms << 16, content="fine")
    fields = change.get("fields", op["fields"])
    op.update({**change, "fields": fields, "field_mask": sorted(fields)})
    if "sealed" in change:
        op["field_mask"] = sorted([*fields, "category"])
    r = await alice.post(
        "/api/sync/push",
        content=json.dumps({"replica_id": replica, "ops": [op]}, allow_nan=True).encode(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_op", r.text
    assert (await alice.get("/api/memories")).json()["total"] == 1
    await _still_serves(hub)


async def test_an_import_created_at_out_of_range_is_a_422(hub: HubHarness) -> None:
    alice = hub.client("alice")
    for when in ("0001-01-01T00:00:00+00:00", "1969-12-31T23:59:59+00:00"):
        item = {"content": "old", "created_at": when}
        r = await alice.post(WHOLE, json=[item])
        assert r.status_code == 422, r.text
    await _still_serves(hub)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/memories", DEEP),
        ("/api/memories", DEEP_FIELD),
        ("/api/memories", b'{"content": "x", "tags": ' + b"[" * 500 + b"]" * 500 + b"}"),
        ("/api/memories", HUGE_INT),
        ("/api/memories/recall", DEEP),
        ("/api/memories/import", DEEP),
        ("/api/memories/import", b"[" + HUGE_INT + b"]"),
        ("/api/sync/push", DEEP),
        ("/api/sync/push", b'{"replica_id": ' + b"1" * 5000 + b"}"),
    ],
    ids=[
        "store-deep",
        "store-deep-field",
        "store-deep-tags",
        "store-huge-int",
        "recall-deep",
        "import-deep",
        "import-huge-int",
        "push-deep",
        "push-huge-int",
    ],
)
async def test_deep_or_huge_json_is_a_4xx(hub: HubHarness, path: str, body: bytes) -> None:
    r = await hub.client("alice").post(
        path, content=body, headers={"content-type": "application/json"}
    )
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["code"] in ("bad_request", "invalid", "invalid_op"), r.text
