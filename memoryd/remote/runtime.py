"""HTTP-only mode inside the daemon's lifespan: the hub is the store, nothing is local.

What needs the local database is off, and says so: sync (no local copy to sync), the hook
service and auto-learn (their endpoints answer 503 `unavailable` and the hooks fail open), the
semantic leg (the hub ranks recall).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx

from memory_core.config import Settings
from memoryd.remote.store import RemoteStore
from memoryd.sync.runtime import SyncService

log = logging.getLogger("memoryd.remote")


@contextlib.asynccontextmanager
async def remote_runtime(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[tuple[RemoteStore, dict[str, Any]]]:
    """Yields the remote store and the services extras ({"sync": SyncService("http")})."""
    assert settings.api_key is not None  # mode "http" implies a key
    store = RemoteStore(
        settings.api_url,
        settings.api_key.get_secret_value(),
        timeout=settings.hub_timeout,
        transport=transport,
    )
    log.info(
        "HTTP-only mode: memories live on the hub at %s; no local copy, hooks' session "
        "tracking, auto-learn and the semantic leg are off",
        settings.api_url,
    )
    try:
        yield store, {"sync": SyncService("http", settings.api_url)}
    finally:
        await store.aclose()
