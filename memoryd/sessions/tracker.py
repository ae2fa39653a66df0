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
transaction, once no prompt is being answered (deferred.py). The prompt's answer then never
waits for the single writer (behind other sessions' marks, stores and sync merges), and 8
sessions' prompts at once cost one commit, not 8. Until a row is written, `fresh` reads it
from memory, so dedup holds at once. A daemon that dies before the flush forgets those marks:
the memories may be injected once more in that session, nothing worse. `flush` (and `close`,
at shutdown) waits for every noted row, without waiting for the prompts being answered.

Most sessions' first prompts, and every prompt of a session nothing was injected into yet,
find no rows to dedup against: the sessions that may have rows are kept in memory (read once,
then every session noted is added; dropped and read again after a cleanup, so that they stay
as few as the rows), and `fresh` asks the database only for those.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal

import aiosqlite

from memory_core.clock import Clock
from memory_core.model import Memory
from memoryd.sessions.deferred import DeferredRows, PromptsInFlight
from memoryd.store.db import Database
from memoryd.store.statement import write_statement

Kind = Literal["briefed", "injected", "recalled", "stored"]
# The kinds that count as use (memory_usage): a tool recalled it, or a prompt was about it.
_COUNTED = frozenset({"recalled", "injected"})
RETENTION_MS = 7 * 86_400_000
# (session_id, memory_id, kind, memory_updated_ms, at_ms)
Row = tuple[str, str, str, int, int]


def seen_query(session_id: str, memories: list[Memory]) -> tuple[str, tuple[str, ...]]:
    """The statement reading which of `memories` the session was shown, in which version."""
    marks = ", ".join("?" for _ in memories)
    return (
        "SELECT memory_id, MAX(memory_updated_ms) FROM hook_session_memories "
        f"WHERE session_id = ? AND memory_id IN ({marks}) GROUP BY memory_id",
        (session_id, *(m.id for m in memories)),
    )


class SessionTracker:
    def __init__(self, db: Database, clock: Clock, burst: PromptsInFlight | None = None) -> None:
        self.db = db
        self.clock = clock
        # Noted marks, written after the prompts being answered (`burst`) are (deferred.py).
        self._marks = DeferredRows(db, self._insert, "session marks", burst)
        # Every session with rows in the table or noted, and maybe some whose rows are gone
        # (None: not read yet, or dropped after a cleanup).
        self._sessions: set[str] | None = None
        self._loading: asyncio.Task[set[str]] | None = None
        self._noted_while_loading: set[str] = set()

    @property
    def writes(self) -> int:
        """Transactions that wrote noted rows."""
        return self._marks.writes

    def pending_rows(self) -> int:
        return self._marks.pending()

    async def fresh(
        self, session_id: str, memories: list[Memory], conn: aiosqlite.Connection | None = None
    ) -> list[Memory]:
        """The memories this session has not seen in their current version (read on `conn`,
        a reader, when given)."""
        if not memories:
            return []
        if session_id not in await self._sessions_with_marks():
            return self.unseen(session_id, memories, {}, [])  # none written, none noted
        if conn is None:
            async with self.db.reader() as reader:
                return await self.fresh(session_id, memories, reader)
        before = self.unwritten(session_id)
        rows = await conn.execute_fetchall(*seen_query(session_id, memories))
        return self.unseen(session_id, memories, before, rows)

    async def _sessions_with_marks(self) -> set[str]:
        if self._sessions is not None:
            return self._sessions
        if self._loading is None:
            self._loading = asyncio.create_task(self._load(), name="memoryd-session-marks")
        return await asyncio.shield(self._loading)

    async def _load(self) -> set[str]:
        # A row noted before now was written (committed: the read below sees it) or still
        # waits in memory (its session taken now); one noted from now on, `note` adds.
        self._noted_while_loading = {row[0] for row in (*self._marks.writing, *self._marks.queued)}
        try:
            async with self.db.reader() as conn:
                rows = await conn.execute_fetchall(
                    "SELECT DISTINCT session_id FROM hook_session_memories"
                )
            sessions = {row[0] for row in rows} | self._noted_while_loading
            self._sessions = sessions
            return sessions
        finally:
            self._loading = None
            self._noted_while_loading = set()

    def unwritten(self, session_id: str) -> dict[str, int]:
        """The session's marks not written yet: memory id -> the newest version seen."""
        seen: dict[str, int] = {}
        for row in (*self._marks.writing, *self._marks.queued):
            if row[0] == session_id:
                seen[row[1]] = max(row[3], seen.get(row[1], row[3]))
        return seen

    def unseen(
        self,
        session_id: str,
        memories: list[Memory],
        before: dict[str, int],
        rows: Iterable[Any],
    ) -> list[Memory]:
        """`fresh`'s answer from `seen_query`'s rows, `before` being `unwritten` taken on the
        event loop before that query ran, and this call made on it after. Rows move from
        memory to the database while the query runs: taking memory's rows before and after
        it, every row is seen in one place or the other."""
        seen = dict(before)
        for memory_id, updated_ms in [*rows, *self.unwritten(session_id).items()]:
            seen[memory_id] = max(updated_ms, seen.get(memory_id, updated_ms))
        return [m for m in memories if m.id not in seen or seen[m.id] < m.updated_ms]

    def note(self, session_id: str, kind: Kind, memories: Iterable[Memory]) -> None:
        """Record what the session saw now; write it soon, batched with other sessions'."""
        now = self.clock.now_ms()
        self._marks.add((session_id, m.id, kind, m.updated_ms, now) for m in memories)
        if self._sessions is not None:
            self._sessions.add(session_id)
        elif self._loading is not None:
            self._noted_while_loading.add(session_id)

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
        await self._marks.flush()

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
        deleted = await write_statement(
            self.db, "DELETE FROM hook_session_memories WHERE at_ms < ?", (cutoff,)
        )
        if deleted:
            self._sessions = None  # read again: the sessions whose rows all went, go
        return deleted
