"""Several hub instances on one database (issue 20, docs/hub.md "Several instances"): two
`memory-hub serve` processes on the same PostgreSQL database, two daemons each syncing through
a different one, writing at the same time. Nothing is sticky: they converge, every op once."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.hubs import KEYS, hub_env
from tests.support import HubServer
from tests.sync.processes import sync_round, synced_clients


@contextmanager
def _hubs(dsn: str, **env: str) -> Iterator[tuple[HubServer, HubServer]]:
    """Both start at once on a fresh database: the migration runs once, under its lock."""
    hubs = [HubServer(hub_env(dsn, **env)) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(HubServer.start, hubs))
    try:
        yield hubs[0], hubs[1]
    finally:
        for hub in hubs:
            hub.stop()
            shutil.rmtree(hub.log.parent, ignore_errors=True)


@pytest.fixture
def two_hubs(hub_dsn: str) -> Iterator[tuple[HubServer, HubServer]]:
    with _hubs(hub_dsn) as hubs:
        yield hubs


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


def _viewer_login(hub: HubServer) -> dict[str, str]:
    with httpx.Client(base_url=hub.url, timeout=30) as browser:
        login = browser.post(
            "/ui/login", data={"api_key": KEYS["alice"]}, headers={"origin": hub.url}
        )
        assert login.status_code == 303, login.text
        return {"memory_hub_viewer": browser.cookies["memory_hub_viewer"]}


def test_a_viewer_session_works_on_every_instance_and_survives_a_restart(
    two_hubs: tuple[HubServer, HubServer],
) -> None:
    """docs/hub.md "Several instances": /ui needs no cookie affinity. A session opened on one
    instance is good on the other and after a restart; logging out on one ends it on both."""
    first, second = two_hubs
    cookie = _viewer_login(first)
    with httpx.Client(timeout=30, cookies=cookie) as browser:
        assert browser.get(f"{first.url}/ui/").status_code == 200
        page = browser.get(f"{second.url}/ui/")
        assert page.status_code == 200 and "alice" in page.text
        first.stop()
        first.start()
        assert browser.get(f"{first.url}/ui/").status_code == 200
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert csrf is not None
        out = browser.post(
            f"{second.url}/ui/logout", data={"csrf": csrf[1]}, headers={"origin": second.url}
        )
        assert out.status_code == 303, out.text
    with httpx.Client(timeout=30, cookies=cookie) as stale:
        assert stale.get(f"{first.url}/ui/").status_code == 401
        assert stale.get(f"{second.url}/ui/").status_code == 401


def test_one_users_rate_and_one_addresss_failed_keys_are_counted_across_instances(
    hub_dsn: str,
) -> None:
    """The limits are one budget for the deployment, not one per instance: writes split over
    the two hubs are refused once the user's minute is spent, and wrong keys sent to both
    throttle the address on both (right key included)."""
    env = {
        "HUB_USER_OPS_PER_MINUTE": "6",
        "HUB_AUTH_FAILURES_PER_MINUTE": "3",
        "HUB_RATE_REFUSAL_DELAY": "0",
    }
    with _hubs(hub_dsn, **env) as (first, second):
        alice = [hub.client(KEYS["alice"]) for hub in (first, second)]
        for n in range(6):
            stored = alice[n % 2].post("/api/memories", json={"content": f"note {n}"})
            assert stored.status_code == 200, stored.text
        for client in alice:
            refused = client.post("/api/memories", json={"content": "one too many"})
            assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
            assert int(refused.headers["Retry-After"]) >= 9  # one op back every 10 s
        # Bob's budget is his own.
        assert second.client(KEYS["bob"]).post("/api/memories", json={"content": "b"}).is_success
        wrong = [hub.client("wrong-key-0123456789") for hub in (first, second)]
        for n in range(3):
            assert wrong[n % 2].get("/api/auth-check").status_code == 401
        for client in (*wrong, *alice):
            throttled = client.get("/api/auth-check")
            assert throttled.status_code == 429, throttled.text
            assert throttled.json()["error"]["code"] == "auth_throttled"
