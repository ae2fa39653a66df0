from __future__ import annotations

import stat

from tests.support import Daemon


def test_store_recall_round_trip_over_the_socket(daemon: Daemon) -> None:
    client = daemon.client()
    stored = client.post(
        "/api/memories",
        json={
            "content": "I prefer Svelte for frontends",
            "category": "preference",
            "tags": "frontend,svelte",
        },
    )
    assert stored.status_code == 201
    memory_id = stored.json()["id"]
    found = client.post("/api/memories/recall", json={"context": "which frontend framework"})
    assert [m["id"] for m in found.json()["memories"]] == [memory_id]
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["memories"] == 1


def test_socket_and_database_are_private(daemon: Daemon) -> None:
    assert stat.S_IMODE(daemon.socket.stat().st_mode) == 0o600
    assert stat.S_IMODE(daemon.socket.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(daemon.db.stat().st_mode) == 0o600
    assert stat.S_IMODE(daemon.db.parent.stat().st_mode) == 0o700
