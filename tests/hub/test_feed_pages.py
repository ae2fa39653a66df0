"""`GET /api/memories/sync` pages for clients that ask (issue 17, item of defect 12): whole by
default, as the original project's clients read it; `limit` and `after` page it, capped."""

from __future__ import annotations

from typing import Any

from memory_hub.routes import FEED_PAGE_MAX
from tests.hubs import HubHarness

COUNT = 25


async def _pages(client: Any, limit: int, **params: str) -> list[list[dict[str, Any]]]:
    pages, after = [], None
    while True:
        query = {"limit": str(limit), **params, **({"after": after} if after else {})}
        body = (await client.get("/api/memories/sync", params=query)).json()
        pages.append(body["memories"])
        after = body["next"]
        if after is None:
            return pages


async def test_the_feed_pages_on_request_and_stays_whole_by_default(hub: HubHarness) -> None:
    alice = hub.client("alice")
    items = [{"content": f"fact number {n} about the build"} for n in range(COUNT)]
    r = await alice.post("/api/memories/import", json=items)  # one instant: ties on updated_at
    assert r.status_code == 200, r.text

    whole = (await alice.get("/api/memories/sync")).json()
    assert len(whole["memories"]) == COUNT and "next" not in whole
    pages = await _pages(alice, 10)
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [m["id"] for p in pages for m in p] == [m["id"] for m in whole["memories"]]

    # With `since`, deletions included, as unpaged.
    since = whole["server_time"]
    hub.clock.advance(1000)
    gone = whole["memories"][3]["id"]
    await alice.delete(f"/api/memories/{gone}")
    later = await _pages(alice, 1, since=since)
    assert [[m["id"] for m in p] for p in later] == [[gone]]
    assert later[0][0]["deleted_at"] is not None

    capped = (await alice.get("/api/memories/sync", params={"limit": "999999"})).json()
    assert len(capped["memories"]) == COUNT - 1 <= FEED_PAGE_MAX


async def test_bad_paging_parameters_are_4xx(hub: HubHarness) -> None:
    alice = hub.client("alice")
    for params in (
        {"limit": "0"},
        {"limit": "ten"},
        {"limit": "9" * 5000},
        {"after": "yesterday"},
        {"after": "12."},
        {"after": "12.a\x00b"},
        {"after": "9" * 40 + ".x"},
    ):
        r = await alice.get("/api/memories/sync", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["code"] == "invalid"
