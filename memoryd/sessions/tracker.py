"""What each session has seen: memories injected by a hook, unasked (`briefed`: the
SessionStart profile, the recovery after a compaction) or because a prompt was about them
(`injected`), and memories recalled or stored by a tool.

A memory is injected into a session once, whichever hook showed it first; it comes back only
when it changed since (its `updated_ms` moved on). Rows older than `RETENTION_MS` are dropped
by `cleanup`. Beside them, `memory_usage` counts for good how often each memory was of use:
recalled by a tool, or injected because a prompt was about it (briefings do not count, or the
profile would keep choosing itself); the profile ranks by it.

Marks from the prompt hook are written after the answer, not before: `note` keeps them in
memory and one background flush writes everything noted meanwhile, every session's, in one
transaction. The prompt's answer then never waits for the single writer (behind other
sessions' marks, stores and sync merges), and 8 sessions' prompts at once cost one commit, not
8. Until a row is written, `fresh` reads it from memory, so dedup holds at once. A daemon that
dies before the flush forgets those marks: the memories may be injected once more in that
session, nothing worse. `flush` (and `close`, at shutdown) waits for every noted row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Literal

import aiosqlite

from memory_core.clock import Clock
from memory_core.model import Memory
from memoryd.store.db import Database
from memoryd.store.statement import write_statement

Kind = Literal["briefed", "injected", "recalled", "stored"]
# The kinds that count as use (memory_usage): a tool recalled it, or a prompt was about it.
_COUNTED = frozenset({"recalled", "injected"})
RETENTION_MS = 7 * 86_400_000
# (session_id, memory_id, kind, memory_updated_ms, at_ms)
Row = tuple[str, str, str, int, int]

log = logging.getLogger("memoryd.sessions")


class SessionTracker:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._queued: list[Row] = []  # noted, not yet in a transaction
        self._writing: list[Row] = []  # in the transaction being written
        self._flusher: asyncio.Task[None] | None = None
        self.writes = 0  # transactions that wrote noted rows

    def pending_rows(self) -> int:
        return len(self._queued) + len(self._writing)

    def _unwritten(self, session_id: str) -> dict[str, int]:
        seen: dict[str, int] = {}
        for row in (*self._writing, *self._queued):
            if row[0] == session_id:
                seen[row[1]] = max(row[3], seen.get(row[1], row[3]))
        return seen

    async def fresh(
        self, session_id: str, memories: list[Memory], conn: aiosqlite.Connection | None = None
    ) -> list[Memory]:
        """The memories this session has not seen in their current version (read on `conn`,
        a reader, when given)."""
        if not memories:
            return []
        if conn is None:
            async with self.db.reader() as reader:
                return await self.fresh(session_id, memories, reader)
        # Rows move from memory to the database while the query runs: taking memory's rows
        # before and after it, every row is seen in one place or the other.
        seen = self._unwritten(session_id)
        marks = ", ".join("?" for _ in memories)
        rows = await conn.execute_fetchall(
            "SELECT memory_id, MAX(memory_updated_ms) FROM hook_session_memories "
            f"WHERE session_id = ? AND memory_id IN ({marks}) GROUP BY memory_id",
            (session_id, *(m.id for m in memories)),
        )
        for memory_id, updated_ms in [*rows, *self._unwritten(session_id).items()]:
            seen[memory_id] = max(updated_ms, seen.get(memory_id, updated_ms))
        return [m for m in memories if m.id not in seen or seen[m.id] < m.updated_ms]

    def note(self, session_id: str, kind: Kind, memories: Iterable[Memory]) -> None:
        """Record what the session saw now; write it soon, batched with other sessions'."""
        now = self.clock.now_ms()
        self._queued += [(session_id, m.id, kind, m.updated_ms, now) for m in memories]
        if self._queued and self._flusher is None:
            self._flusher = asyncio.create_task(self._drain(), name="memoryd-session-marks")

    async def _drain(self) -> None:
        try:
            while self._queued:
                self._writing, self._queued = self._queued, []
                try:
                    await self.db.write(self._insert(self._writing))
                    self.writes += 1
                except Exception:  # a failed write costs a repeated injection, not the daemon
                    log.exception("could not record %d session marks", len(self._writing))
                finally:
                    self._writing = []
        finally:
            self._flusher = None

    @staticmethod
    def _insert(rows: list[Row]) -> Callable[[aiosqlite.Connection], Awaitable[None]]:
        used = [
            (memory_id, int(kind == "recalled"), int(kind == "injected"), at_ms)
            for _, memory_id, kind, _, at_ms in rows
            if kind in _COUNTED
        ]

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.executemany(
                "INSERT INTO hook_session_memories "
                "(session_id, memory_id, kind, memory_updated_ms, at_ms) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (session_id, memory_id, kind) DO UPDATE SET "
                "memory_updated_ms = excluded.memory_updated_ms, "
                "at_ms = excluded.at_ms",
                rows,
            )
            await conn.executemany(
                "INSERT INTO memory_usage (memory_id, recalled, injected, last_ms) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (memory_id) DO UPDATE SET "
                "recalled = recalled + excluded.recalled, "
                "injected = injected + excluded.injected, "
                "last_ms = max(last_ms, excluded.last_ms)",
                used,
            )

        return job

    async def flush(self) -> None:
        """Wait until every row noted so far is written."""
        while self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def close(self) -> None:
        await self.flush()

    async def mark(self, session_id: str, kind: Kind, memories: Iterable[Memory]) -> None:
        """`note`, then wait for the write."""
        self.note(session_id, kind, memories)
        await self.flush()

    async def forget_injected(self, session_id: str) -> None:
        """The context was compacted or cleared: what was injected is no longer in it."""
        await self.flush()  # a queued row written after the delete would outlive it

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "DELETE FROM hook_session_memories WHERE session_id = ? "
                "AND kind IN ('injected', 'briefed')",
                (session_id,),
            )

        await self.db.write(job)

    async def seen(self, session_id: str, limit: int = 50) -> list[str]:
        """Ids this session stored, recalled or was given: stored first, newest first."""
        await self.flush()
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
        return await write_statement(
            self.db, "DELETE FROM hook_session_memories WHERE at_ms < ?", (cutoff,)
        )
