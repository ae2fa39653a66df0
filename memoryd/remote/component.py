"""HTTP-only mode as the daemon's lifespan: the hub is the store, nothing is local.

What needs the local database is off, and says so: sync (no local copy to sync), the hook
service and auto-learn (their endpoints answer 503 `unavailable` and the hooks fail open), the
semantic leg (the hub ranks recall). The mode adds no endpoints of its own.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import httpx

from memory_core.config import Settings
from memoryd.api.components import Components
from memoryd.remote.store import RemoteStore
from memoryd.sync.component import SyncService

log = logging.getLogger("memoryd.remote")


@contextlib.asynccontextmanager
async def http_only(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[Components]:
    """The daemon's components in HTTP-only mode: the hub as the store, sync reporting why it
    is off, nothing else."""
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
        yield Components(settings, store, sync=SyncService("http", settings.api_url))
    finally:
        await store.aclose()
