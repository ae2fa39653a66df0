"""A replica for in-process sync tests: a real MemoryStore on its own SQLite file, the real
outbox, engine and client, its own clock, and a fault-injecting transport to the hub."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
import httpx

from memory_core.crypto.aead import Cipher
from memory_core.wire.sync import LWW_FIELDS
from memoryd.store.db import Database
from memoryd.store.memories import Change, MemoryStore
from memoryd.sync.client import SyncClient
from memoryd.sync.engine import SyncEngine
from memoryd.sync.envelope import SyncCipher
from memoryd.sync.outbox import Outbox
from memoryd.sync.state import ensure_replica
from tests.hubs import KEYS
from tests.sync.faults import FaultyTransport

KEY = bytes(range(32))


class SkewedClock:
    """A replica's wall clock: the shared true time plus this machine's own error."""

    def __init__(self, truth: Any, skew_ms: int = 0) -> None:
        self.truth = truth
        self.skew_ms = skew_ms

    def now_ms(self) -> int:
        return int(self.truth.now_ms()) + self.skew_ms


@dataclass(eq=False)
class Replica:
    dir: Path
    hub_app: Any
    clock: Any
    key: bytes | None = KEY
    end_to_end: bool = False
    api_key: str = KEYS["alice"]
    push_page: int = 500
    pull_limit: int = 500
    emitted: list[Change] = field(default_factory=list, init=False)  # every change it made
    cloned: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.transport = FaultyTransport(httpx.ASGITransport(app=self.hub_app))

    @property
    def db_path(self) -> Path:
        return self.dir / "memory.db"

    async def open(self) -> Replica:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.db_path)
        await self.db.open()
        sync_cipher = SyncCipher(self.key) if self.key else None
        outbox = Outbox(sync_cipher, self.end_to_end)

        async def sink(conn: aiosqlite.Connection, change: Change) -> None:
            await outbox(conn, change)
            self.emitted.append(change)

        self.store = MemoryStore(
            self.db, Cipher(KEY), self.clock, max_content_chars=1400, on_change=sink
        )
        await self.store.load_clock()
        self.replica_id, self.cloned = await ensure_replica(
            self.db, self.dir / "keys" / "replica-id", sync_cipher, self.clock.now_ms()
        )
        self.client = SyncClient("http://hub", self.api_key, transport=self.transport)
        self.engine = SyncEngine(
            self.store, self.client, sync_cipher, self.clock, self.push_page, self.pull_limit
        )
        return self

    async def close(self) -> None:
        await self.client.aclose()
        await self.db.close()

    async def snapshot(self) -> dict[str, Any]:
        """Every memory's replicated state, sensitive content decrypted: equal on converged
        replicas."""
        out: dict[str, Any] = {}
        async with (
            self.db.reader() as conn,
            conn.execute("SELECT id, deleted_ms FROM memories ORDER BY id") as cursor,
        ):
            rows = list(await cursor.fetchall())
        for row in rows:
            if row["deleted_ms"] is not None:
                out[row["id"]] = "deleted"
                continue
            memory, text = await self.store.secret(row["id"])
            state = {name: getattr(memory, name) for name in LWW_FIELDS if name != "content"}
            state["content"] = text
            state["created_ms"] = memory.created_ms
            out[row["id"]] = state
        return out

    async def outbox_depth(self) -> int:
        async with (
            self.db.reader() as conn,
            conn.execute("SELECT COUNT(*) FROM sync_outbox") as cursor,
        ):
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def fts_ok(self) -> None:
        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute("INSERT INTO memories_fts(memories_fts) VALUES('integrity-check')")

        await self.db.write(job)

    async def raw_bytes(self) -> bytes:
        """Every table's text, for 'no plaintext secret on disk' checks."""
        parts: list[str] = []
        async with self.db.reader() as conn:
            for table in ("sync_outbox", "sync_quarantine", "memories"):
                async with conn.execute(f"SELECT * FROM {table}") as cursor:
                    parts.extend(json.dumps([*r], default=str) for r in await cursor.fetchall())
        return "\n".join(parts).encode()
