"""A real `memory-hub serve` process on a loopback port, over a fresh database of the real
PostgreSQL cluster, and a real `memoryd serve` in HTTP-only mode pointed at it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.hub.conftest import KEYS, hub_dsn
from tests.support import Daemon, HubServer, running_daemon

__all__ = ["KEYS", "hub_dsn"]


@dataclass
class HubProcess:
    """A real hub, with one cached client per user: the tests check through the hub's own API
    what the daemon wrote."""

    server: HubServer
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, user: str) -> httpx.Client:
        if user not in self.clients:
            self.clients[user] = self.server.client(KEYS[user])
        return self.clients[user]

    def stop(self) -> None:
        for client in self.clients.values():
            client.close()
        self.clients.clear()
        self.server.stop()


@pytest.fixture
def hub_process(hub_dsn: str) -> Iterator[HubProcess]:
    server = HubServer(
        {
            **os.environ,
            "DATABASE_URL": hub_dsn,
            "API_KEYS": json.dumps(KEYS),
            "MEMORY_ENCRYPTION_KEY": "c" * 64,
        }
    )
    migrated = server.migrate()
    assert migrated.returncode == 0, migrated.stderr
    hub = HubProcess(server.start())
    try:
        yield hub
    finally:
        hub.stop()


def http_only_env(hub_url: str, user: str = "alice", **extra: str) -> dict[str, str]:
    return {
        "MEMORY_API_URL": hub_url,
        "MEMORY_API_KEY": KEYS[user],
        "MEMORY_SYNC_DISABLE": "1",
        **extra,
    }


@pytest.fixture
def http_daemon(hub_process: HubProcess) -> Iterator[Daemon]:
    with running_daemon(**http_only_env(hub_process.url)) as daemon:
        yield daemon
