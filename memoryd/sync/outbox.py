"""The outbox: MemoryStore's `on_change` sink. Each local write appends its op here inside the
write's own transaction, so the state, the clock and the queue never disagree, whatever
crashes when.

Sensitive content is sealed with the user's key before it reaches the table; without a key a
sensitive memory is not queued at all (it stays on this machine, and status says so).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiosqlite

from memory_core.hlc import wall_ms
from memory_core.ids import uuid7
from memory_core.model import CREATION_FIELDS
from memoryd.store.memories import Change
from memoryd.sync.envelope import SyncCipher, build_op


class Outbox:
    def __init__(
        self,
        cipher: SyncCipher | None,
        end_to_end: bool = False,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        if end_to_end and cipher is None:
            raise ValueError("end-to-end mode needs MEMORY_ENCRYPTION_KEY")
        self.cipher = cipher
        self.end_to_end = end_to_end
        self.on_queued = on_queued
        self.kept_local = 0  # sensitive changes not queued since start (no key)

    async def __call__(self, conn: aiosqlite.Connection, change: Change) -> None:
        async with conn.execute(
            "SELECT replica_id, next_replica_seq FROM sync_state WHERE id = 1"
        ) as cursor:
            state = await cursor.fetchone()
        if state is None:
            raise RuntimeError("sync_state is not initialised (ensure_replica first)")
        plain: dict[str, Any] = {}
        secret: dict[str, Any] = {}
        if change.kind == "put":
            async with conn.execute(
                "SELECT is_sensitive, created_ms FROM memories WHERE id = ?", (change.entity_id,)
            ) as cursor:
                row = await cursor.fetchone()
            assert row is not None, "the change's row is written before it is emitted"
            sensitive = bool(row["is_sensitive"])
            if sensitive and self.cipher is None:
                self.kept_local += 1
                return
            plain = dict(change.fields)
            if set(CREATION_FIELDS) <= set(plain):
                plain["created_ms"] = row["created_ms"]  # a creation carries its birth time
            if self.end_to_end:
                plain, secret = {}, plain
            elif sensitive and "content" in plain:
                secret = {"content": plain.pop("content")}
        seq = int(state["next_replica_seq"])
        op = build_op(
            replica_id=state["replica_id"],
            replica_seq=seq,
            op_id=uuid7(wall_ms(change.hlc)),
            entity_id=change.entity_id,
            hlc=change.hlc,
            kind=change.kind,
            plain=plain,
            secret=secret,
            cipher=self.cipher,
        )
        await conn.execute(
            "INSERT INTO sync_outbox (replica_seq, op_id, entity_id, hlc, envelope) "
            "VALUES (?, ?, ?, ?, ?)",
            (seq, op.op_id, op.entity_id, op.hlc, op.model_dump_json()),
        )
        await conn.execute("UPDATE sync_state SET next_replica_seq = ? WHERE id = 1", (seq + 1,))
        if self.on_queued is not None:
            self.on_queued()
