"""The undo ledger: what auto-learn stored or changed (`learned`), so that the user can review
each entry and undo it (delete the memory, or restore the content it replaced)."""

from __future__ import annotations

import contextlib
from typing import Any

from memory_core.clock import Clock
from memory_core.crypto.detect import redact
from memory_core.errors import NotFound, ServiceError
from memory_core.model import Memory
from memoryd.store.memories import MemoryStore, Patch
from memoryd.store.statement import write_statement

MAX_REASON_CHARS = 500


class LearnedLedger:
    def __init__(self, store: MemoryStore, clock: Clock) -> None:
        self.store = store
        self.db = store.db
        self.clock = clock

    async def record(
        self,
        memory_id: str,
        session_id: str,
        action: str,
        kind: str,
        reason: str,
        previous_content: str | None = None,
    ) -> None:
        """Note that a lesson of `kind` was `action` ("stored" or "updated") as `memory_id`;
        an update keeps the content it replaced, for undo."""
        now = self.clock.now_ms()

        await write_statement(
            self.db,
            "INSERT INTO learned (memory_id, session_id, action, kind, reason, "
            "previous_content, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                memory_id,
                session_id,
                action,
                kind,
                redact(reason)[:MAX_REASON_CHARS],
                previous_content,
                now,
            ),
        )

    async def entries(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest entries first, each with its memory's content as shown now (None if
        the memory is gone)."""
        async with (
            self.db.reader() as conn,
            conn.execute(
                "SELECT rowid, memory_id, session_id, action, kind, reason, previous_content, "
                "at_ms, undone_ms FROM learned ORDER BY at_ms DESC, rowid DESC LIMIT ?",
                (limit,),
            ) as cursor,
        ):
            rows = list(await cursor.fetchall())
        out = []
        for row in rows:
            try:
                memory: Memory | None = await self.store.get(row[1])
            except ServiceError:
                memory = None
            out.append(
                {
                    "entry": row[0],
                    "memory_id": row[1],
                    "session_id": row[2],
                    "action": row[3],
                    "kind": row[4],
                    "reason": row[5],
                    "previous_content": row[6],
                    "at_ms": row[7],
                    "undone": row[8] is not None,
                    "content": memory.shown_content() if memory else None,
                }
            )
        return out

    async def undo(self, entry: int) -> dict[str, Any]:
        async with (
            self.db.reader() as conn,
            conn.execute(
                "SELECT memory_id, action, previous_content, undone_ms FROM learned "
                "WHERE rowid = ?",
                (entry,),
            ) as cursor,
        ):
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"no auto-learned entry {entry}")
        memory_id, action, previous, undone = row
        if undone is not None:
            return {"entry": entry, "memory_id": memory_id, "undone": "already"}
        if action == "updated" and previous:
            await self.store.update(memory_id, Patch(content=previous))
            result = "restored the previous content"
        else:
            with contextlib.suppress(NotFound):
                await self.store.delete(memory_id)
            result = "deleted the memory"
        now = self.clock.now_ms()

        await write_statement(
            self.db, "UPDATE learned SET undone_ms = ? WHERE rowid = ?", (now, entry)
        )
        return {"entry": entry, "memory_id": memory_id, "undone": result}
