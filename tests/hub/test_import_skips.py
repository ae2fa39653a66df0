"""The hub's import skips the rows it refuses and reports each one with the id it was sent with
(its id in the source database) and the reason; the rest is imported; running it again imports
nothing twice (issue 19 item 7). A failure of the request itself still changes nothing
(test_write_rules.py, test_limits.py)."""

from __future__ import annotations

from typing import Any

from memory_hub.imports import SKIPPED_HEADER
from memory_hub.sealing import NoSealer
from tests.hostile_text import BODIES
from tests.hubs import HubHarness

# A dump as the original's /api/memories/sync answers it, with bad rows among the good ones.
ROWS: list[Any] = [
    {"id": 3, "content": "Prod deploys need two approvals", "category": "process"},
    {"id": 5, "content": "x" * 2017, "category": "facts"},
    {"id": 7, "content": "Redis eviction bit us twice", "category": "banana"},
    "not an object",
    {"id": 9, "content": "A row without trouble", "category": "gotcha", "tags": "redis,ops"},
    {"content": "A row the source gave no id", "importance": 0.8},
    {"id": 11, **BODIES[sorted(BODIES)[0]]},
]


async def _total(hub: HubHarness) -> int:
    total: int = (await hub.client("alice").get("/api/memories")).json()["total"]
    return total


async def test_bad_rows_are_skipped_and_reported_and_a_rerun_adds_nothing(
    hub: HubHarness,
) -> None:
    alice = hub.client("alice")
    r = await alice.post("/api/memories/import", json={"memories": ROWS})
    assert r.status_code == 200, r.text
    # The original's list: only the rows taken, each as its clients read it.
    answer = r.json()
    assert [(m["id"], m["category"], m["status"], m["item"]) for m in answer] == [
        (3, "process", "imported", 0),
        (9, "gotchas", "imported", 4),
        (12, "facts", "imported", 5),  # numbered after the source ids it keeps
    ]
    assert all(isinstance(m["importance"], float) for m in answer)
    assert r.headers[SKIPPED_HEADER] == "4"
    assert await _total(hub) == 3

    again = await alice.post("/api/memories/import", params={"report": "1"}, json=ROWS)
    assert again.status_code == 200, again.text
    report = again.json()
    assert (report["imported"], report["existing"], report["duplicates"]) == (0, 2, 1)
    assert [(m["id"], m["status"]) for m in report["memories"]] == [
        (3, "exists"),
        (9, "exists"),
        (12, "duplicate"),
    ]
    assert [(r["item"], r["id"], r["code"]) for r in report["rejected"]] == [
        (1, 5, "content_too_long"),
        (2, 7, "unknown_category"),
        (3, None, "invalid"),
        (6, 11, "invalid"),
    ]
    reasons = [r["reason"] for r in report["rejected"]]
    assert "2017 characters" in reasons[0] and "banana" in reasons[1]
    assert reasons[2] == "must be a JSON object"
    assert not any(reason.startswith("item ") for reason in reasons)
    assert await _total(hub) == 3
    pulled = (await alice.get("/api/sync/pull", params={"after": 0})).json()["ops"]
    assert len(pulled) == 3


async def test_the_same_content_twice_in_one_import_is_one_memory(hub: HubHarness) -> None:
    alice = hub.client("alice")
    items = [{"content": "said twice"}, {"content": "said once"}, {"content": "said twice"}]
    r = await alice.post("/api/memories/import", json=items)
    assert [m["status"] for m in r.json()] == ["imported", "imported", "duplicate"]
    assert r.json()[0]["uuid"] == r.json()[2]["uuid"]
    assert await _total(hub) == 2


async def test_a_sensitive_row_on_a_hub_without_a_key_is_skipped(hub: HubHarness) -> None:
    """The hub without an encryption key refuses that row only; the others are imported, and
    once the hub has a key a second run brings the refused one in."""
    alice = hub.client("alice")
    items = [
        {"id": 1, "content": "first fine"},
        {"id": 2, "content": "a secret", "is_sensitive": True},
        {"id": 3, "content": "third fine"},
    ]
    keyed = hub.app.state.hub.sealer
    hub.app.state.hub.sealer = NoSealer()
    r = await alice.post("/api/memories/import", params={"report": "1"}, json=items)
    assert r.status_code == 200, r.text
    assert [(x["item"], x["id"], x["code"]) for x in r.json()["rejected"]] == [
        (1, 2, "sensitive_not_stored")
    ]
    assert await _total(hub) == 2
    hub.app.state.hub.sealer = keyed
    again = (await alice.post("/api/memories/import", json=items)).json()
    statuses = [(m["id"], m["status"]) for m in again]
    assert statuses == [(1, "exists"), (2, "imported"), (3, "exists")]
    assert await _total(hub) == 3


async def test_request_failures_still_change_nothing(hub: HubHarness) -> None:
    """Not JSON, not an array, no key: the request fails and nothing is stored."""
    alice = hub.client("alice")
    headers = {"content-type": "application/json"}
    not_json = await alice.post("/api/memories/import", content=b"[{", headers=headers)
    assert not_json.status_code == 400
    not_array = await alice.post("/api/memories/import", json={"rows": ROWS})
    assert not_array.status_code == 422
    nobody = await hub.client().post("/api/memories/import", json=ROWS)
    assert nobody.status_code == 401
    bad_flag = await alice.post("/api/memories/import", params={"report": "maybe"}, json=ROWS)
    assert bad_flag.status_code == 422
    assert await _total(hub) == 0
