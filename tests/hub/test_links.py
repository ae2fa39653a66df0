"""Typed links on the hub's REST API (real PostgreSQL): link, read, unlink; `supersedes` as a
link, which hub recall honours (a superseded memory never ranks above its successor); cycles
refused; another user's memories and bad ids are 404/422, never 500; a link is an op synced
daemons pull."""

from __future__ import annotations

import functools
from typing import Any

import httpx

from tests.hubs import HubHarness
from tests.succession import QUESTION, store_succession

UNKNOWN = "01900000-0000-7000-8000-000000000000"


async def _store(client: httpx.AsyncClient, content: str, **fields: Any) -> str:
    r = await client.post("/api/memories", json={"content": content, **fields})
    assert r.status_code == 200, r.text  # the original's status for a store
    memory_id: str = r.json()["uuid"]  # `id` is the integer id, in the original's shape
    return memory_id


async def _link(client: httpx.AsyncClient, src: str, dst: Any, kind: str) -> httpx.Response:
    return await client.post(
        f"/api/memories/{src}/links", json={"target_id": dst, "link_type": kind}
    )


def _by_uuid(answer: dict[str, Any]) -> dict[str, Any]:
    """A link answer (integer ids, UUIDs beside) by its UUIDs."""
    return {
        "src_id": answer["src_uuid"],
        "dst_id": answer["dst_uuid"],
        "link_type": answer["link_type"],
    }


def _ends(ends: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": end["uuid"], "type": end["type"]} for end in ends]


async def _recall(client: httpx.AsyncClient, context: str, **extra: Any) -> list[str]:
    r = await client.post("/api/memories/recall", json={"context": context, **extra})
    assert r.status_code == 200, r.text
    return [m["uuid"] for m in r.json()["memories"]]


async def test_hub_recall_ranks_a_superseded_memory_below_its_successor(
    hub: HubHarness,
) -> None:
    """Regression: hub recall ignored `supersedes` and ranked the old decision first."""
    alice = hub.client("alice")
    old, new = await store_succession(functools.partial(_store, alice))
    ranked = await _recall(alice, QUESTION)
    assert ranked.index(new) < ranked.index(old)
    for order in ("importance", "recency"):
        ranked = await _recall(alice, QUESTION, sort_by=order)
        assert ranked.index(new) < ranked.index(old), order


async def test_hub_recall_brings_the_successor_wherever_the_old_one_would_be(
    hub: HubHarness,
) -> None:
    alice = hub.client("alice")
    old = await _store(alice, "The staging cluster runs in us-east-1")
    # Shares no word with the question: only its predecessor brings it, via a link.
    new = await _store(alice, "Moved next to prod-eu in eu-west-1, separate AWS account")
    assert (await _link(alice, new, old, "supersedes")).status_code == 200
    assert (await _recall(alice, "which region is the staging cluster in"))[:2] == [new, old]
    # Unlinked, the old memory is current again and the new one is not a candidate.
    r = await alice.delete(f"/api/memories/{new}/links/{old}/supersedes")
    assert r.status_code == 200, r.text
    assert await _recall(alice, "which region is the staging cluster in") == [old]


async def test_links_each_type_read_both_ways_and_unlink(hub: HubHarness) -> None:
    alice = hub.client("alice")
    epic = await _store(alice, "The billing rewrite epic")
    step = await _store(alice, "Billing rewrite step 1: export invoices")
    bug = await _store(alice, "Invoices exported twice")
    fix = await _store(alice, "Advisory lock on the export cron")
    for src, dst, kind in (
        (step, epic, "part-of"),
        (bug, fix, "resolved-by"),
        (bug, step, "see-also"),
    ):
        r = await _link(alice, src, dst, kind)
        assert r.status_code == 200, r.text
        assert _by_uuid(r.json()) == {"src_id": src, "dst_id": dst, "link_type": kind}
    assert (await _link(alice, step, epic, "part-of")).status_code == 409
    links = (await alice.get(f"/api/memories/{bug}/links")).json()
    assert _ends(links["links_out"]) == [
        {"id": fix, "type": "resolved-by"},
        {"id": step, "type": "see-also"},
    ]
    assert _ends((await alice.get(f"/api/memories/{epic}/links")).json()["links_in"]) == [
        {"id": step, "type": "part-of"}
    ]
    r = await alice.delete(f"/api/memories/{bug}/links/{fix}/resolved-by")
    assert r.status_code == 200 and r.json()["unlinked"]["dst_uuid"] == fix
    assert (await alice.delete(f"/api/memories/{bug}/links/{fix}/resolved-by")).status_code == 404
    # A link is an op in the user's log, so synced daemons receive it.
    pulled = (await alice.get("/api/sync/pull", params={"after": 0})).json()["ops"]
    assert any(op["entity_id"] == bug and "links" in op["field_mask"] for op in pulled)
    # A deleted source's links are gone from its targets' view.
    await alice.delete(f"/api/memories/{step}")
    assert (await alice.get(f"/api/memories/{epic}/links")).json()["links_in"] == []


async def test_cycles_are_refused(hub: HubHarness) -> None:
    alice = hub.client("alice")
    a, b, c = [await _store(alice, f"cycle memory {n}") for n in ("alpha", "beta", "gamma")]
    for kind in ("supersedes", "part-of"):
        assert (await _link(alice, a, b, kind)).status_code == 200
    assert (await _link(alice, b, c, "part-of")).status_code == 200
    r = await _link(alice, b, a, "supersedes")
    assert r.status_code == 422 and "cycle" in r.json()["error"]["message"]
    r = await _link(alice, c, a, "part-of")
    assert r.status_code == 422 and "cycle" in r.json()["error"]["message"]
    assert (await _link(alice, a, a, "see-also")).status_code == 422
    # A second `supersedes` from one memory: 409, it replaces one other.
    assert (await _link(alice, a, c, "supersedes")).status_code == 409


async def test_other_users_memories_and_bad_input_are_4xx(hub: HubHarness) -> None:
    alice, bob = hub.client("alice"), hub.client("bob")
    mine = await _store(alice, "Alice's memory about the heron deploy")
    theirs = await _store(bob, "Bob's memory about the heron deploy")
    # Bob's memory is "not found" for Alice, as either end of a link.
    assert (await _link(alice, mine, theirs, "see-also")).status_code == 404
    assert (await _link(alice, theirs, mine, "see-also")).status_code == 404
    assert (await alice.get(f"/api/memories/{theirs}/links")).status_code == 404
    assert (await alice.delete(f"/api/memories/{theirs}/links/{mine}/see-also")).status_code == 404
    # Bob linking his memory to Alice's is refused, and Alice's links are not shown to him.
    assert (await _link(bob, theirs, mine, "part-of")).status_code == 404
    assert (await _link(alice, mine, UNKNOWN, "see-also")).status_code == 404
    r = await _link(alice, mine, mine, "related-to")
    assert r.status_code == 422 and "resolved-by" in r.json()["error"]["message"]
    for target in (-1, 0, "1e309", 10**30, "x" * 65, True, None, [], {}):
        r = await _link(alice, mine, target, "see-also")
        assert 400 <= r.status_code < 500, (target, r.text)
    for path in (
        "/api/memories/-1/links",
        "/api/memories/1e309/links",
        "/api/memories/99999999999999999999999/links",
    ):
        assert (await alice.get(path)).status_code in (404, 422), path
    r = await alice.delete(f"/api/memories/{mine}/links/1e309/part-of")
    assert r.status_code == 404, r.text
    r = await alice.post(f"/api/memories/{mine}/links", content=b"{not json")
    assert r.status_code in (400, 422), r.text
    assert (await alice.get(f"/api/memories/{mine}/links")).json()["links_out"] == []


async def test_links_by_the_hubs_integer_ids_as_the_originals_clients_send_them(
    hub: HubHarness,
) -> None:
    alice, bob = hub.client("alice"), hub.client("bob")
    old = await _store(alice, "Standups are at 9:30")
    new = await _store(alice, "Standups moved to 10:00")
    nums = {m["uuid"]: m["id"] for m in (await alice.get("/api/memories")).json()["memories"]}
    r = await _link(alice, nums[new], nums[old], "supersedes")  # the path takes a number too
    assert r.status_code == 200, r.text
    # The original's shape, integer ids, with the UUIDs beside them.
    linked = {"src_id": nums[new], "dst_id": nums[old], "link_type": "supersedes"}
    assert r.json() == {**linked, "src_uuid": new, "dst_uuid": old}
    assert (await alice.get(f"/api/memories/{nums[old]}/links")).json()["links_in"] == [
        {"id": nums[new], "uuid": new, "type": "supersedes"}
    ]
    # A successor stored with the number of the memory it replaces.
    r = await alice.post(
        "/api/memories", json={"content": "Standups are async", "supersedes": str(nums[new])}
    )
    assert r.status_code == 200, r.text
    # Bob's integer ids are his own: alice's numbers name nothing of his.
    mine = await _store(bob, "Bob's only memory")
    bob_num = (await bob.get(f"/api/memories/{mine}")).json()["id"]
    assert bob_num == 1 and nums[new] == 2
    assert (await _link(bob, bob_num, nums[new], "see-also")).status_code == 404
    gone = await alice.delete(f"/api/memories/{nums[new]}/links/{nums[old]}/supersedes")
    assert gone.status_code == 200, gone.text
    assert gone.json()["unlinked"] == {**linked, "src_uuid": new, "dst_uuid": old}


async def test_reading_a_memory_shows_its_links_both_ways(hub: HubHarness) -> None:
    """GET /api/memories/{id} carries what GET /api/memories/{id}/links answers."""
    alice = hub.client("alice")
    epic = await _store(alice, "The search rewrite epic")
    step = await _store(alice, "Search rewrite step 1: the new index")
    assert (await _link(alice, step, epic, "part-of")).status_code == 200
    nums = {m["uuid"]: m["id"] for m in (await alice.get("/api/memories")).json()["memories"]}
    shown = (await alice.get(f"/api/memories/{step}")).json()
    assert shown["links_out"] == [{"id": nums[epic], "uuid": epic, "type": "part-of"}]
    assert shown["links_in"] == []
    shown = (await alice.get(f"/api/memories/{nums[epic]}")).json()
    assert shown["links_in"] == [{"id": nums[step], "uuid": step, "type": "part-of"}]
    assert shown["links_out"] == []
