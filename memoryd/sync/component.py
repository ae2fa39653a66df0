"""Sync as a component of the daemon: its endpoints (POST /api/sync, GET /api/sync/status) and
its part of the lifespan.

In hybrid mode (MEMORY_API_KEY set, sync not disabled) `prepare_sync` sets up the replica and
the outbox before the store exists, so that the store is built with the outbox as its change
sink; `SyncSetup.running(store)` then runs the background loop. Otherwise sync only reports why
it is off.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memory_core.clock import Clock
from memory_core.config import Settings
from memory_core.crypto.keys import load_key
from memory_core.http.errors import error_response
from memory_core.http.routing import endpoint
from memoryd.api.components import components
from memoryd.store.db import Database
from memoryd.store.memories import MemoryStore
from memoryd.sync.client import SyncClient
from memoryd.sync.engine import RoundResult, SyncEngine
from memoryd.sync.envelope import SyncCipher
from memoryd.sync.loop import SyncLoop
from memoryd.sync.outbox import Outbox
from memoryd.sync.state import ensure_replica, marker_path


@dataclass
class SyncService:
    mode: str
    hub_url: str
    engine: SyncEngine | None = None
    loop: SyncLoop | None = None
    outbox: Outbox | None = None
    cloned: bool = False

    async def run_now(self) -> RoundResult | None:
        return None if self.loop is None else await self.loop.run_now()

    async def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode, "hub_url": self.hub_url}
        if self.engine is None or self.loop is None or self.outbox is None:
            out["enabled"] = False
            out["why"] = {
                "local": "MEMORY_API_KEY is not set: memories stay on this machine",
                "http": "HTTP-only mode (MEMORY_SYNC_DISABLE=1): no local copy to sync",
            }.get(self.mode, "sync is off")
            return out
        state = await self.engine.status()
        sensitive = self.engine.cipher is not None
        out.update(
            enabled=True,
            **asdict(state),
            failures=self.loop.failures,
            sensitive_syncing=sensitive,
            end_to_end=self.outbox.end_to_end,
            cloned_database_detected=self.cloned,
        )
        if not sensitive:
            out["sensitive_note"] = (
                "sensitive memories stay on this machine: set MEMORY_ENCRYPTION_KEY (the same "
                "on every machine) to sync them encrypted"
            )
        return out


@dataclass(frozen=True)
class SyncSetup:
    """Sync as far as it goes before the store exists."""

    settings: Settings
    clock: Clock
    transport: httpx.AsyncBaseTransport | None = None
    # The store's change sink (it queues each write's op in the write's transaction); None
    # when sync is off.
    outbox: Outbox | None = None
    cipher: SyncCipher | None = None
    cloned: bool = False

    @contextlib.asynccontextmanager
    async def running(self, store: MemoryStore) -> AsyncIterator[SyncService]:
        """Runs the sync loop over `store` (built with `outbox`) while the daemon runs."""
        settings, outbox = self.settings, self.outbox
        if outbox is None or settings.api_key is None:
            yield SyncService(settings.mode, settings.api_url)
            return
        client = SyncClient(settings.api_url, settings.api_key.get_secret_value(), self.transport)
        engine = SyncEngine(store, client, self.cipher, self.clock)
        debounce = float(os.environ.get("MEMORY_SYNC_DEBOUNCE", "2"))
        loop = SyncLoop(engine, settings.sync_interval, debounce_s=debounce)
        # The outbox had to exist before the store, so before this loop: it learns now whom a
        # queued op wakes. No write comes earlier, the daemon does not serve yet.
        outbox.on_queued = loop.notify_write
        loop.start()
        try:
            yield SyncService("hybrid", settings.api_url, engine, loop, outbox, self.cloned)
        finally:
            await loop.stop()
            outbox.on_queued = None
            await client.aclose()


async def prepare_sync(
    db: Database,
    settings: Settings,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SyncSetup:
    """The replica id checked (a cloned database gets a new one) and the outbox, in hybrid
    mode; a setup that only says why sync is off otherwise."""
    if settings.mode != "hybrid" or settings.api_key is None:
        return SyncSetup(settings, clock, transport)
    cipher = None
    if settings.encryption_key is not None:
        cipher = SyncCipher(load_key(settings.encryption_key.get_secret_value(), settings.key_file))
    end_to_end = (
        os.environ.get("MEMORY_SYNC_E2E", "") in ("1", "true", "yes") and cipher is not None
    )
    _, cloned = await ensure_replica(db, marker_path(settings.key_file), cipher, clock.now_ms())
    return SyncSetup(settings, clock, transport, Outbox(cipher, end_to_end), cipher, cloned)


async def sync_now(request: Request) -> Response:
    """Run a sync round now, and answer its result with the state after it."""
    service = components(request).sync
    result = await service.run_now()
    if result is None:
        status = await service.status()
        return error_response(409, "sync_off", status.get("why", "sync is off"))
    return JSONResponse({**result.as_dict(), "status": await service.status()})


async def sync_status(request: Request) -> Response:
    """Sync on or off (and why), the hub, the queue and the last rounds."""
    return JSONResponse(await components(request).sync.status())


ENDPOINTS = (
    endpoint("POST", "/api/sync", sync_now),
    endpoint("GET", "/api/sync/status", sync_status),
)
