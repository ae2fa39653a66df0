"""What each session has seen: memories injected by a hook, recalled or stored by a tool.

A memory is injected into a session once; it comes back only when it changed since (its
`updated_ms` moved on). Rows older than `RETENTION_MS` are dropped by `cleanup`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import aiosqlite

from memoryd.clock import Clock
from memoryd.model import Memory
from memoryd.store.db import Database

Kind = Literal["injected", "recalled", "stored"]
RETENTION_MS = 7 * 86_400_000


class SessionTracker:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def fresh(self, session_id: str, memories: list[Memory]) -> list[Memory]:
        """The memories this session has not seen in their current version."""
        if not memories:
            return []
        marks = ", ".join("?" for _ in memories)
        async with (
            self.db.reader() as conn,
            conn.execute(
                "SELECT memory_id, MAX(memory_updated_ms) FROM hook_session_memories "
                f"WHERE session_id = ? AND memory_id IN ({marks}) GROUP BY memory_id",
                (session_id, *(m.id for m in memories)),
            ) as cursor,
        ):
            seen = {row[0]: row[1] for row in await cursor.fetchall()}
        return [m for m in memories if m.id not in seen or seen[m.id] < m.updated_ms]

    async def mark(self, session_id: str, kind: Kind, memories: Iterable[Memory]) -> None:
        rows = [(session_id, m.id, kind, m.updated_ms) for m in memories]
        if not rows:
            return
        now = self.clock.now_ms()

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.executemany(
                "INSERT INTO hook_session_memories "
                "(session_id, memory_id, kind, memory_updated_ms, at_ms) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (session_id, memory_id, kind) DO UPDATE SET "
                "memory_updated_ms = excluded.memory_updated_ms, at_ms = excluded.at_ms",
                [(*row, now) for row in rows],
            )

        await self.db.write(job)

    async def forget_injected(self, session_id: str) -> None:
        """The context was compacted or cleared: what was injected is no longer in it."""

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "DELETE FROM hook_session_memories WHERE session_id = ? AND kind = 'injected'",
                (session_id,),
            )

        await self.db.write(job)

    async def seen(self, session_id: str, limit: int = 50) -> list[str]:
        """Ids this session stored, recalled or was given: stored first, newest first."""
        async with (
            self.db.reader() as conn,
            conn.execute(
                "SELECT memory_id, MIN(CASE kind WHEN 'stored' THEN 0 WHEN 'recalled' THEN 1 "
                "ELSE 2 END) AS rank, MAX(at_ms) AS last FROM hook_session_memories "
                "WHERE session_id = ? GROUP BY memory_id ORDER BY rank, last DESC LIMIT ?",
                (session_id, limit),
            ) as cursor,
        ):
            return [row[0] for row in await cursor.fetchall()]

    async def cleanup(self) -> int:
        cutoff = self.clock.now_ms() - RETENTION_MS

        async def job(conn: aiosqlite.Connection) -> int:
            cursor = await conn.execute(
                "DELETE FROM hook_session_memories WHERE at_ms < ?", (cutoff,)
            )
            return cursor.rowcount

        return await self.db.write(job)
