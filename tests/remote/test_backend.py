"""The local store and the HTTP-only `RemoteStore` are both `MemoryBackend`s (mypy checks
their declarations); what /health shows of the store comes from the backend itself."""

from __future__ import annotations

import socket

from memoryd.remote.store import RemoteStore
from memoryd.store.backend import BackendHealth, MemoryBackend
from memoryd.store.memories import MemoryStore, NewMemory
from tests.hubs import KEYS
from tests.support import HubServer


async def test_each_backend_says_where_its_memories_live(
    store: MemoryStore, hub_server: HubServer
) -> None:
    remote = RemoteStore(hub_server.url, KEYS["alice"])
    try:
        backends: list[MemoryBackend] = [store, remote]
        for backend in backends:
            await backend.create(NewMemory(content="the deploy script lives in ops/"))
        local_health, remote_health = [await backend.health(0.3) for backend in backends]
    finally:
        await remote.aclose()
    assert local_health == BackendHealth(location=str(store.db.path), memories=1)
    assert remote_health == BackendHealth(location=hub_server.url, memories=1, hub="ok")


async def test_an_unreachable_hub_is_reported_by_health_not_raised() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    remote = RemoteStore(url, KEYS["alice"])
    try:
        health = await remote.health(0.3)
    finally:
        await remote.aclose()
    assert health.location == url and health.memories is None
    assert health.hub is not None and "cannot reach the hub" in health.hub
