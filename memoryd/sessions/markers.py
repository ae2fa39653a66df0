"""Compaction markers: before Claude Code compacts a session's context, the ids of the
memories that mattered to it; after, they are injected once and the marker is deleted.
A marker nobody picks up is dropped after `MAX_AGE_MS`."""

from __future__ import annotations

import json

import aiosqlite

from memory_core.clock import Clock
from memoryd.store.db import Database
from memoryd.store.statement import write_statement

MAX_AGE_MS = 86_400_000


class CompactionMarkers:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def save(self, session_id: str, memory_ids: list[str], project: str | None) -> None:
        now = self.clock.now_ms()

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "INSERT INTO compaction_markers (session_id, memory_ids, project, created_ms) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET "
                "memory_ids = excluded.memory_ids, project = excluded.project, "
                "created_ms = excluded.created_ms",
                (session_id, json.dumps(memory_ids), project, now),
            )

        await self.db.write(job)

    async def pending(self, session_id: str, conn: aiosqlite.Connection | None = None) -> bool:
        """Whether a marker waits for this session (on `conn`, a reader, when given)."""
        if conn is None:
            async with self.db.reader() as reader:
                return await self.pending(session_id, reader)
        rows = await conn.execute_fetchall(
            "SELECT 1 FROM compaction_markers WHERE session_id = ? AND created_ms >= ?",
            (session_id, self.clock.now_ms() - MAX_AGE_MS),
        )
        return bool(list(rows))

    async def take(self, session_id: str) -> list[str] | None:
        """The saved ids, deleting the marker (one use); None when there is none."""
        cutoff = self.clock.now_ms() - MAX_AGE_MS

        async def job(conn: aiosqlite.Connection) -> list[str] | None:
            async with conn.execute(
                "DELETE FROM compaction_markers WHERE session_id = ? "
                "RETURNING memory_ids, created_ms",
                (session_id,),
            ) as cursor:
                row = await cursor.fetchone()
            if row is None or row[1] < cutoff:
                return None
            ids: list[str] = json.loads(row[0])
            return ids

        return await self.db.write(job)

    async def cleanup(self) -> int:
        cutoff = self.clock.now_ms() - MAX_AGE_MS
        return await write_statement(
            self.db, "DELETE FROM compaction_markers WHERE created_ms < ?", (cutoff,)
        )
