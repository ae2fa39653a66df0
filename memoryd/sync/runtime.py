"""Starts sync inside the daemon's lifespan: in hybrid mode (MEMORY_API_KEY set, sync not
disabled) it installs the outbox as the store's change sink and runs the background loop;
otherwise it only reports why sync is off."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from memory_core.clock import Clock
from memory_core.config import Settings
from memory_core.crypto.keys import load_key
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
            replica_id=state.replica_id,
            cursor=state.cursor,
            queue_depth=state.queued,
            parked=state.parked,
            parked_errors=state.parked_errors,
            quarantined=state.quarantined,
            last_push_ms=state.last_push_ms,
            last_pull_ms=state.last_pull_ms,
            last_error=state.last_error,
            server_offset_ms=state.server_offset_ms,
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


@contextlib.asynccontextmanager
async def sync_runtime(
    store: MemoryStore,
    settings: Settings,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Yields the services extras: {"sync": SyncService}."""
    if settings.mode != "hybrid" or settings.api_key is None:
        yield {"sync": SyncService(settings.mode, settings.api_url)}
        return
    cipher = None
    if settings.encryption_key is not None:
        cipher = SyncCipher(load_key(settings.encryption_key.get_secret_value(), settings.key_file))
    end_to_end = (
        os.environ.get("MEMORY_SYNC_E2E", "") in ("1", "true", "yes") and cipher is not None
    )
    _, cloned = await ensure_replica(
        store.db, marker_path(settings.key_file), cipher, clock.now_ms()
    )
    loop_ref: list[SyncLoop] = []
    outbox = Outbox(cipher, end_to_end, on_queued=lambda: loop_ref[0].notify_write())
    store.on_change = outbox
    client = SyncClient(settings.api_url, settings.api_key.get_secret_value(), transport)
    engine = SyncEngine(store, client, cipher, clock)
    debounce = float(os.environ.get("MEMORY_SYNC_DEBOUNCE", "2"))
    loop = SyncLoop(engine, settings.sync_interval, debounce_s=debounce)
    loop_ref.append(loop)
    loop.start()
    try:
        yield {"sync": SyncService("hybrid", settings.api_url, engine, loop, outbox, cloned)}
    finally:
        await loop.stop()
        store.on_change = None
        await client.aclose()
