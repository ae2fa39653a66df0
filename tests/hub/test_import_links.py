"""A hub import keeps an export's links, as memoryd's import does: `supersedes` when it names a
live memory (held before or earlier in the import), the other links once every row is in; links
to memories not here, or closing a cycle, are dropped, not an error; importing again adds
nothing."""

from __future__ import annotations

from typing import Any

from memory_core.ids import uuid7
from tests.hubs import HubHarness

MISSING = "01900000-0000-7000-8000-000000000000"


def _line(memory_id: str, content: str, **fields: Any) -> dict[str, Any]:
    return {"id": memory_id, "content": content, "created_at": "2026-01-02T03:04:05Z", **fields}


async def test_an_import_restores_supersedes_and_links(hub: HubHarness) -> None:
    alice = hub.client("alice")
    held = (await alice.post("/api/memories", json={"content": "Staging is in us-east-1"})).json()
    epic, step, old, new = (uuid7() for _ in range(4))
    lines = [
        # A link to a row later in the export, to one held before, and to one not here.
        _line(
            step,
            "Billing rewrite step 1",
            links=[
                {"id": epic, "type": "part-of"},
                {"id": held["uuid"], "type": "see-also"},
                {"id": MISSING, "type": "see-also"},
            ],
        ),
        _line(epic, "The billing rewrite epic", links=[{"id": step, "type": "part-of"}]),
        _line(old, "CI runs on CircleCI"),
        _line(new, "CI moved to GitHub Actions", supersedes=old),
        _line(uuid7(), "Replaces a memory not here", supersedes=MISSING),
    ]
    answer = await alice.post("/api/memories/import", json=lines, params={"report": "1"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["imported"] == 5 and answer.json()["rejected"] == []

    async def links(memory_id: str) -> dict[str, Any]:
        found = await alice.get(f"/api/memories/{memory_id}/links")
        assert found.status_code == 200, found.text
        body: dict[str, Any] = found.json()
        return body

    out = (await links(step))["links_out"]
    assert {(link["uuid"], link["type"]) for link in out} == {
        (epic, "part-of"),
        (held["uuid"], "see-also"),
    }
    # epic part-of step would close a cycle with step part-of epic: dropped.
    assert (await links(epic))["links_out"] == []
    assert [(m["uuid"], m["type"]) for m in (await links(old))["links_in"]] == [(new, "supersedes")]
    assert (await alice.get(f"/api/memories/{new}")).json()["supersedes"] == old
    head = await hub.head()
    again = await alice.post("/api/memories/import", json=lines, params={"report": "1"})
    assert again.json()["existing"] == 5 and await hub.head() == head


async def test_an_import_row_with_malformed_links_is_set_aside(hub: HubHarness) -> None:
    alice = hub.client("alice")
    lines = [
        _line(uuid7(), "fine"),
        _line(uuid7(), "bad links", links=[{"id": MISSING, "type": "likes"}]),
    ]
    answer = await alice.post("/api/memories/import", json=lines, params={"report": "1"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["imported"] == 1 and [r["item"] for r in body["rejected"]] == [1]
