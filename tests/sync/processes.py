"""Real daemons that sync through a real hub process, for end-to-end tests and benches."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.hubs import KEYS
from tests.support import Daemon, HubServer, daemon_env, short_tmpdir

KEY = "0f" * 32  # the user's key, the same on every machine


def synced_daemon(hub: HubServer, cwd: Path | None = None, **extra_env: str) -> Daemon:
    """`memoryd serve` as alice's machine, syncing with `hub` (rounds by hand: the interval is
    an hour), started."""
    home = short_tmpdir()
    env = daemon_env(
        home,
        MEMORY_API_KEY=KEYS["alice"],
        MEMORY_API_URL=hub.url,
        MEMORY_ENCRYPTION_KEY=KEY,
        MEMORY_SYNC_INTERVAL="3600",
        **extra_env,
    )
    return Daemon(home, env, cwd=cwd).start()


@contextmanager
def synced_clients(*hubs: HubServer) -> Iterator[list[httpx.Client]]:
    """A synced daemon per hub named (one hub named twice: two of alice's machines on it), and a
    client of each; the daemons stop after, those started if one fails to start."""
    daemons: list[Daemon] = []
    try:
        for hub in hubs:
            daemons.append(synced_daemon(hub))
        yield [daemon.client() for daemon in daemons]
    finally:
        for daemon in daemons:
            daemon.stop()


def sync_round(client: httpx.Client) -> dict[str, Any]:
    """`POST /api/sync` on a daemon: the round's result."""
    response = client.post("/api/sync")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
