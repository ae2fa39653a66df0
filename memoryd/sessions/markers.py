"""Compaction markers: before Claude Code compacts a session's context, the ids of the
memories that mattered to it; after, they are injected once and the marker is deleted.
A marker nobody picks up is dropped after `MAX_AGE_MS`.

Every prompt asks whether its session has a marker, and almost none has: the answer comes
from memory, the markers' sessions and ages read once and kept in step with every write to
the table (this class makes them all: the daemon is the only writer of its store). Asked of
the database, it was a hand-off to a reader thread (or a query beside the session dedup's)
for every prompt."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aiosqlite

from memory_core.clock import Clock
from memoryd.store.db import Database
from memoryd.store.statement import write_statement

MAX_AGE_MS = 86_400_000
# A change to the table, made to the in-memory copy: session id -> the marker's created_ms.
Change = Callable[[dict[str, int]], None]


class CompactionMarkers:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        # The table's session_id -> created_ms once read (None: not read yet).
        self._created: dict[str, int] | None = None
        self._loading: asyncio.Task[dict[str, int]] | None = None
        # The changes committed while the table is being read: the read may or may not have
        # seen them, and each leaves the row as it says whichever it was.
        self._committed_while_loading: list[Change] = []

    def _committed(self, change: Change) -> None:
        """A write to the table committed: the same change to the copy in memory."""
        if self._created is not None:
            change(self._created)
        elif self._loading is not None:
            self._committed_while_loading.append(change)

    async def _markers(self) -> dict[str, int]:
        if self._created is not None:
            return self._created
        if self._loading is None:
            self._loading = asyncio.create_task(self._load(), name="memoryd-markers-load")
        return await asyncio.shield(self._loading)

    async def _load(self) -> dict[str, int]:
        try:
            async with self.db.reader() as conn:
                rows = await conn.execute_fetchall(
                    "SELECT session_id, created_ms FROM compaction_markers"
                )
            created = {session_id: created_ms for session_id, created_ms in rows}
            for change in self._committed_while_loading:
                change(created)
            self._created = created
            return created
        finally:
            self._loading = None
            self._committed_while_loading = []

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
        self._committed(lambda created: created.__setitem__(session_id, now))

    async def pending(self, session_id: str) -> bool:
        """Whether a marker waits for this session (from memory, once the table was read)."""
        created = (await self._markers()).get(session_id)
        return created is not None and created >= self.clock.now_ms() - MAX_AGE_MS

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

        ids = await self.db.write(job)

        def drop(created: dict[str, int]) -> None:
            created.pop(session_id, None)

        self._committed(drop)
        return ids

    async def cleanup(self) -> int:
        cutoff = self.clock.now_ms() - MAX_AGE_MS
        deleted = await write_statement(
            self.db, "DELETE FROM compaction_markers WHERE created_ms < ?", (cutoff,)
        )

        def drop_old(created: dict[str, int]) -> None:
            for session_id in [s for s, at in created.items() if at < cutoff]:
                del created[session_id]

        self._committed(drop_old)
        return deleted
