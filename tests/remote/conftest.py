"""A real `memoryd serve` in HTTP-only mode pointed at a real `memory-hub serve` process
(`hub_server`, tests/conftest.py) over a fresh database of the real PostgreSQL cluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hubs import KEYS
from tests.support import Daemon, HubServer, running_daemon


def http_only_env(hub_url: str, user: str = "alice", **extra: str) -> dict[str, str]:
    return {
        "MEMORY_API_URL": hub_url,
        "MEMORY_API_KEY": KEYS[user],
        "MEMORY_SYNC_DISABLE": "1",
        **extra,
    }


@pytest.fixture
def http_daemon(hub_server: HubServer) -> Iterator[Daemon]:
    with running_daemon(**http_only_env(hub_server.url)) as daemon:
        yield daemon
