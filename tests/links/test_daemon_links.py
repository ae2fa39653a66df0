"""Typed links and short integer ids on a real daemon over its socket: link, read, unlink,
`supersedes` as a link (recall keeps the successor on top), cycles refused, bad ids and types
answered 4xx, and `42` accepted wherever an id is."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support import Daemon, running_daemon
from tests.support import store as stored


@pytest.fixture
def client(shared_daemon: Daemon) -> httpx.Client:
    return shared_daemon.client()


def store(client: httpx.Client, content: str, **fields: object) -> dict[str, object]:
    """A memory stored (tests.support.store), as GET /api/memories/{id} shows it."""
    memory_id = stored(client, content, **fields)
    body: dict[str, object] = client.get(f"/api/memories/{memory_id}").json()
    return body


def link(client: httpx.Client, src: object, dst: object, kind: str) -> httpx.Response:
    return client.post(f"/api/memories/{src}/links", json={"target_id": dst, "link_type": kind})


def test_link_read_and_unlink_each_type(client: httpx.Client) -> None:
    epic = store(client, "The billing rewrite epic: move invoices to the new ledger")
    step = store(client, "Billing rewrite step 1: export the old invoices to parquet")
    bug = store(client, "Invoices exported twice when the cron overlaps")
    fix = store(client, "Fixed the double export with an advisory lock on the cron job")
    for src, dst, kind in (
        (step, epic, "part-of"),
        (bug, fix, "resolved-by"),
        (bug, step, "see-also"),
    ):
        answer = link(client, src["id"], dst["id"], kind)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"src_id": src["id"], "dst_id": dst["id"], "link_type": kind}
    # The same link again: 409, as the original answers.
    assert link(client, step["id"], epic["id"], "part-of").status_code == 409
    links = client.get(f"/api/memories/{bug['id']}/links").json()
    assert links["links_out"] == [
        {"id": fix["id"], "type": "resolved-by"},
        {"id": step["id"], "type": "see-also"},
    ]
    assert links["links_in"] == []
    assert client.get(f"/api/memories/{epic['id']}/links").json()["links_in"] == [
        {"id": step["id"], "type": "part-of"}
    ]
    gone = client.delete(f"/api/memories/{bug['id']}/links/{fix['id']}/resolved-by")
    assert gone.status_code == 200, gone.text
    assert gone.json()["unlinked"]["link_type"] == "resolved-by"
    again = client.delete(f"/api/memories/{bug['id']}/links/{fix['id']}/resolved-by")
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "not_found"
    # A deleted target drops out of the links shown; a deleted source's links are gone.
    client.delete(f"/api/memories/{step['id']}")
    assert client.get(f"/api/memories/{bug['id']}/links").json()["links_out"] == []
    assert client.get(f"/api/memories/{epic['id']}/links").json()["links_in"] == []


def test_supersedes_link_is_the_supersedes_field_and_recall_honours_it(
    client: httpx.Client,
) -> None:
    old = store(client, "Frontend apps use React with webpack, decided for all zebra projects")
    new = store(client, "Zebra projects moved their frontend to Svelte with Vite")
    assert link(client, new["id"], old["id"], "supersedes").status_code == 200
    assert client.get(f"/api/memories/{new['id']}").json()["supersedes"] == old["id"]
    # A memory replaces one other: a second target is a conflict, not a silent change.
    other = store(client, "Zebra dashboards are built with Grafana")
    second = link(client, new["id"], other["id"], "supersedes")
    assert second.status_code == 409, second.text
    recalled = client.post(
        "/api/memories/recall", json={"context": "frontend React webpack zebra projects"}
    ).json()["memories"]
    ids = [m["id"] for m in recalled]
    assert ids.index(new["id"]) < ids.index(old["id"])
    assert client.get(f"/api/memories/{old['id']}/links").json()["links_in"] == [
        {"id": new["id"], "type": "supersedes"}
    ]
    # Unlinked, the older memory is current again.
    assert (
        client.delete(f"/api/memories/{new['id']}/links/{old['id']}/supersedes").status_code == 200
    )
    assert client.get(f"/api/memories/{new['id']}").json()["supersedes"] is None


def test_cycles_are_refused(client: httpx.Client) -> None:
    a = store(client, "Cycle test memory alpha about the kiwi service")
    b = store(client, "Cycle test memory beta about the kiwi service")
    c = store(client, "Cycle test memory gamma about the kiwi service")
    for kind in ("supersedes", "part-of"):
        assert link(client, a["id"], b["id"], kind).status_code == 200
        assert link(client, b["id"], c["id"], kind).status_code == 200 or kind == "supersedes"
    # a supersedes b; b supersedes a would be a cycle.
    refused = link(client, b["id"], a["id"], "supersedes")
    assert refused.status_code == 422, refused.text
    assert "cycle" in refused.json()["error"]["message"]
    # a part-of b part-of c; c part-of a closes the loop.
    refused = link(client, c["id"], a["id"], "part-of")
    assert refused.status_code == 422, refused.text
    # Linking a memory to itself, by any type.
    assert link(client, a["id"], a["id"], "see-also").status_code == 422
    # see-also both ways is fine: it is not an order.
    assert link(client, a["id"], c["id"], "see-also").status_code == 200
    assert link(client, c["id"], a["id"], "see-also").status_code == 200


def test_bad_links_are_4xx(client: httpx.Client) -> None:
    a = store(client, "Bad link test memory about the walrus cache")
    unknown = "01900000-0000-7000-8000-000000000000"
    assert link(client, a["id"], unknown, "see-also").status_code == 404
    assert link(client, unknown, a["id"], "see-also").status_code == 404
    bad_type = link(client, a["id"], a["id"], "related-to")
    assert bad_type.status_code == 422
    assert "part-of" in bad_type.json()["error"]["message"]
    for target in (-1, 0, "1e309", 10**30, "x" * 65, True, None):
        answer = link(client, a["id"], target, "see-also")
        assert 400 <= answer.status_code < 500, (target, answer.text)
    for path in ("/api/memories/-1/links", "/api/memories/99999999999999999999999/links"):
        assert client.get(path).status_code in (404, 422)
    answer = client.delete(f"/api/memories/{a['id']}/links/1e309/see-also")
    assert answer.status_code in (404, 422), answer.text
    answer = client.delete(f"/api/memories/{a['id']}/links/{a['id']}/nonsense")
    assert answer.status_code == 422, answer.text


def test_short_integer_ids_work_wherever_an_id_does(client: httpx.Client) -> None:
    first = store(client, "Short id test: the otter queue drains every night")
    second = store(client, "Short id test: the otter queue moved to hourly drains")
    num, other = first["num"], second["num"]
    assert isinstance(num, int) and isinstance(other, int) and other > num
    # The store's answer names it too; a duplicate answers the number already given.
    again = client.post("/api/memories", json={"content": first["content"]})
    assert again.status_code == 200 and again.json()["num"] == num
    assert client.get(f"/api/memories/{num}").json()["id"] == first["id"]
    listed = client.get("/api/memories", params={"limit": 100}).json()["memories"]
    assert {m["id"]: m["num"] for m in listed}[first["id"]] == num
    got = client.post("/api/memories/get", json={"ids": [str(num), "424242424"]}).json()
    assert [m["id"] for m in got["memories"]] == [first["id"]]
    assert got["not_found"] == ["424242424"]
    updated = client.put(f"/api/memories/{num}", json={"importance": 0.9}).json()
    assert updated["memory"]["importance"] == 0.9
    assert link(client, other, num, "supersedes").status_code == 200
    assert client.get(f"/api/memories/{other}").json()["supersedes"] == first["id"]
    assert client.delete(f"/api/memories/{other}/links/{num}/supersedes").status_code == 200
    replaced = client.post(
        "/api/memories",
        json={"content": "Short id test: otter drains now every 15 min", "supersedes": str(other)},
    )
    assert replaced.status_code == 201, replaced.text
    assert client.delete(f"/api/memories/{other}").json()["deleted"] == second["id"]
    # Bad integer ids are 4xx, never 500.
    for bad in ("0", "-1", "1e309", "99999999999999999999", "9223372036854775808"):
        answer = client.get(f"/api/memories/{bad}")
        assert answer.status_code in (404, 422), (bad, answer.text)


def test_an_export_imports_with_its_links_elsewhere(client: httpx.Client) -> None:
    bug = store(client, "Export links test: the puffin report times out")
    fix = store(client, "Export links test: the puffin report got an index on created_at")
    overview = store(client, "Export links test: the puffin reporting overview")
    for src, dst, kind in ((bug, fix, "resolved-by"), (fix, overview, "part-of")):
        assert link(client, src["id"], dst["id"], kind).status_code == 200
    lines = client.get("/api/memories/export").text.splitlines()
    wanted = [json.loads(line) for line in lines if "Export links test" in line]
    with running_daemon() as other:
        elsewhere = other.client()
        # Oldest first: the bug's line names the fix, which comes after it.
        answer = elsewhere.post("/api/memories/import", json=wanted)
        assert answer.status_code == 200, answer.text
        assert answer.json()["imported"] == 3
        assert _links(elsewhere, bug["id"])["links_out"] == [
            {"id": fix["id"], "type": "resolved-by"}
        ]
        assert _links(elsewhere, overview["id"])["links_in"] == [
            {"id": fix["id"], "type": "part-of"}
        ]
        # Again: nothing twice.
        again = elsewhere.post("/api/memories/import", json=wanted)
        assert again.json()["existing"] == 3
        assert _links(elsewhere, bug["id"])["links_out"] == [
            {"id": fix["id"], "type": "resolved-by"}
        ]
        bad = elsewhere.post(
            "/api/memories/import",
            json=[{"content": "x", "links": [{"id": fix["id"], "type": "related-to"}]}],
        )
        assert bad.status_code == 422 and "item 0" in bad.json()["error"]["message"]


def _links(client: httpx.Client, memory_id: str) -> dict[str, object]:
    body: dict[str, object] = client.get(f"/api/memories/{memory_id}/links").json()
    return body
