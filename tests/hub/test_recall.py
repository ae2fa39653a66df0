"""The hub's REST recall ranks like the daemon (fts.plan, coverage, proximity) per user."""

from __future__ import annotations

from typing import Any

import httpx

from tests.hubs import HubHarness

QUERY = {"context": "What did Melanie paint at the pottery workshop?", "limit": 10}


async def _recall(client: httpx.AsyncClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = await client.post("/api/memories/recall", json=body)
    assert r.status_code == 200, r.text
    memories: list[dict[str, Any]] = r.json()["memories"]
    return memories


async def test_most_terms_side_by_side_rank_above_a_single_term(hub: HubHarness) -> None:
    alice = hub.client("alice")
    ids = {}
    for name, content in {
        # One query word, many times, in a short row: ts_rank alone would favour it.
        "single": "Pottery pottery pottery!",
        "most": "Melanie loves to paint pottery at the workshop",
        "scattered": (
            "Melanie bought a new easel. The workshop was closed, so the paint stayed home "
            "and then she made pottery"
        ),
        "none": "Caroline went hiking on Sunday",
        "filler": "That kind of thing is hard to say",
    }.items():
        r = await alice.post("/api/memories", json={"content": content})
        assert r.status_code == 200, r.text
        ids[r.json()["id"]] = name
    found = await _recall(alice, QUERY)
    assert [ids[m["id"]] for m in found] == ["most", "scattered", "single"]
    scores = [m["score"] for m in found]
    assert scores[0] > scores[1] > scores[2] > 0
    # Question filler ("kind", "say") is a stopword of the plan, as in the daemon.
    found = await _recall(alice, {"context": "What kind of workshop would Melanie say?"})
    assert {ids[m["id"]] for m in found} == {"most", "scattered"}


async def test_another_users_memories_are_never_candidates(hub: HubHarness) -> None:
    alice, bob = hub.client("alice"), hub.client("bob")
    for content in ("Melanie painted a vase at the pottery workshop", "Pottery is fun"):
        assert (await alice.post("/api/memories", json={"content": content})).status_code == 200
    before = await _recall(alice, QUERY)
    assert len(before) == 2
    # Bob's rows match every query word (better than Alice's), and make the words common.
    for i in range(30):
        content = f"Melanie paint pottery workshop, take {i}"
        assert (await bob.post("/api/memories", json={"content": content})).status_code == 200
    assert (await bob.post("/api/memories", json={"content": "bob only quokka"})).status_code == 200
    after = await _recall(alice, {**QUERY, "limit": 100})
    # Same rows, same scores: Bob's rows are neither candidates nor counted in the statistics.
    assert after == before
    assert await _recall(alice, {"context": "quokka"}) == []
    assert len(await _recall(bob, {**QUERY, "limit": 100})) == 30


async def test_hostile_text_never_raises(hub: HubHarness) -> None:
    alice = hub.client("alice")
    assert (await alice.post("/api/memories", json={"content": "O'Brien fixed it"})).status_code
    for context in (
        "o'brien \\ ' '' :* & | ! <-> (",
        "x" * 3000 + " brien",
        "ünïcödé 東京 brien 123",
        "the and of",
    ):
        r = await alice.post(
            "/api/memories/recall", json={"context": context, "expanded_query": context}
        )
        assert r.status_code == 200, (context[:40], r.text)
    found = await _recall(alice, {"context": "o'brien \\ ' '' :* & | ! <-> ("})
    assert [m["content"] for m in found] == ["O'Brien fixed it"]
