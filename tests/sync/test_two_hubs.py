"""Several hub instances on one database (issue 20, docs/hub.md "Several instances"): two
`memory-hub serve` processes on the same PostgreSQL database, two daemons each syncing through
a different one, writing at the same time. Nothing is sticky: they converge, every op once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.hubs import KEYS, hub_env
from tests.support import HubServer
from tests.sync.processes import sync_round, synced_clients


@pytest.fixture
def two_hubs(hub_dsn: str) -> Iterator[tuple[HubServer, HubServer]]:
    """Both start at once on a fresh database: the migration runs once, under its lock."""
    hubs = [HubServer(hub_env(hub_dsn)) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(HubServer.start, hubs))
    try:
        yield hubs[0], hubs[1]
    finally:
        for hub in hubs:
            hub.stop()
            shutil.rmtree(hub.log.parent, ignore_errors=True)


def _sync(client: httpx.Client) -> dict[str, Any]:
    body = sync_round(client)
    assert body["ok"], body
    return body


def _contents(client: httpx.Client) -> list[str]:
    listed = client.get("/api/memories", params={"limit": 1000}).json()["memories"]
    return sorted(m["content"] for m in listed)


def _write_and_sync(client: httpx.Client, name: str) -> None:
    """Writes and sync rounds interleaved, so both hubs take pushes at the same time."""
    for batch in range(4):
        items = [{"content": f"{name} note {batch}-{n} about berries"} for n in range(50)]
        assert client.post("/api/memories/import", json=items).status_code == 200
        _sync(client)


@pytest.mark.slow
def test_two_daemons_through_two_hub_processes_on_one_database_converge(
    two_hubs: tuple[HubServer, HubServer],
) -> None:
    first, second = two_hubs
    with synced_clients(first, second) as (ca, cb):
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(_write_and_sync, (ca, cb), ("a", "b")))
        _sync(ca)
        _sync(cb)
        expected = sorted(f"{name} note {b}-{n} about berries" for name in "ab" for b in range(4)
                          for n in range(50))  # fmt: skip
        assert _contents(ca) == _contents(cb) == expected
        # A REST write on one instance is one op of the hub's replica, whichever instance
        # serves it, and reaches a daemon syncing through the other.
        rest = first.client(KEYS["alice"]).post(
            "/api/memories", json={"content": "written over REST on the first hub"}
        )
        assert rest.status_code == 200, rest.text  # the original project's status
        assert _sync(cb)["applied"] == 1
        assert "written over REST on the first hub" in _contents(cb)
        # Both instances serve the same log: one sequence, every op once, no gap.
        for hub in (first, second):
            stats = hub.client(KEYS["alice"]).get("/api/stats").json()
            assert stats["head_seq"] == 401
            pulled, after = [], 0
            while True:
                page = (
                    hub.client(KEYS["alice"]).get("/api/sync/pull", params={"after": after}).json()
                )
                pulled += [op["seq"] for op in page["ops"]]
                after = page["next_after"]
                if not page["has_more"]:
                    break
            assert pulled == list(range(1, 402))
        assert ca.get("/api/sync/status").json()["queue_depth"] == 0
        assert cb.get("/api/sync/status").json()["queue_depth"] == 0


def test_a_viewer_session_lives_in_the_hub_process_that_opened_it(
    two_hubs: tuple[HubServer, HubServer],
) -> None:
    """What docs/hub.md says to route with cookie affinity: /ui's sessions are per process."""
    first, second = two_hubs
    with httpx.Client(base_url=first.url, timeout=30) as browser:
        login = browser.post(
            "/ui/login", data={"api_key": KEYS["alice"]}, headers={"origin": first.url}
        )
        assert login.status_code == 303, login.text
        cookie = {"memory_hub_viewer": browser.cookies["memory_hub_viewer"]}
    with httpx.Client(timeout=30, cookies=cookie) as same_cookie:
        assert same_cookie.get(f"{first.url}/ui/").status_code == 200
        assert same_cookie.get(f"{second.url}/ui/").status_code == 401
