"""End to end with real processes: two memoryd daemons (two MEMORY_HOMEs) and a real
`memory-hub serve` process on a real PostgreSQL database."""

from __future__ import annotations

import httpx
import pytest

from tests.hubs import KEYS
from tests.support import Daemon, HubServer, run_module
from tests.sync.processes import sync_round, synced_clients


def _recall(client: httpx.Client, text: str) -> list[str]:
    response = client.post("/api/memories/recall", json={"context": text})
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["memories"]]


@pytest.mark.slow
def test_two_daemons_converge_through_the_hub_and_survive_an_outage(
    hub_server: HubServer,
) -> None:
    with synced_clients(hub_server, hub_server) as (ca, cb):
        stored = ca.post("/api/memories", json={"content": "The staging cluster is in eu-west-1"})
        assert stored.status_code == 201
        mid = stored.json()["id"]
        assert sync_round(ca)["ok"]
        assert sync_round(cb)["ok"]  # (B's own start-up round may already have pulled it)
        assert _recall(cb, "staging cluster") == [mid]

        assert cb.delete(f"/api/memories/{mid}").status_code == 200
        sync_round(cb)
        sync_round(ca)
        assert _recall(ca, "staging cluster") == []

        hub_server.stop()
        for i in range(3):
            r = ca.post("/api/memories", json={"content": f"offline note {i} about kafka"})
            assert r.status_code == 201  # the daemon keeps working without the hub
        down = sync_round(ca)
        assert not down["ok"] and down["error_code"] == "unreachable"
        status = ca.get("/api/sync/status").json()
        assert status["queue_depth"] == 3 and status["last_error"].startswith("unreachable")

        hub_server.start()  # the same database: what it acknowledged before is still there
        assert sync_round(ca)["ok"]  # (its backoff loop may have pushed first: either is fine)
        assert sync_round(ca)["pushed"] == 0
        listed = hub_server.client(KEYS["alice"]).get("/api/memories").json()
        notes = [m["content"] for m in listed["memories"] if "offline note" in m["content"]]
        assert sorted(notes) == [f"offline note {i} about kafka" for i in range(3)]
        assert listed["total"] == 3  # the deleted one is gone from the hub too
        sync_round(cb)
        found = _recall(cb, "offline note kafka")
        assert len(found) == len(set(found)) == 3  # converged, no duplicates
        assert ca.get("/api/sync/status").json()["queue_depth"] == 0


def test_sync_status_without_a_key_says_why(daemon: Daemon) -> None:
    client = daemon.client()
    status = client.get("/api/sync/status").json()
    assert status["mode"] == "local" and status["enabled"] is False
    assert "MEMORY_API_KEY" in status["why"]
    assert client.post("/api/sync").status_code == 409


def test_memory_status_shows_sync(daemon: Daemon) -> None:
    done = run_module("memoryd.cli.memory_cmd", "status", env=daemon.env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "sync      off (MEMORY_API_KEY is not set" in out
