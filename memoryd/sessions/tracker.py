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
sessions' prompts at once cost one commit, not 8. `fresh` answers from memory (seen.py: what
each session saw, read once and kept in step with every note), so dedup holds at once, before
the rows are written, and a prompt reads nothing for it. A daemon that dies before the flush
forgets those marks: the memories may be injected once more in that session, nothing worse.
`flush` (and `close`, at shutdown) waits for every noted row, without waiting for the prompts
being answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Literal

import aiosqlite

from memory_core.clock import Clock
from memory_core.model import Memory
from memoryd.sessions.deferred import DeferredRows, PromptsInFlight
from memoryd.sessions.seen import Row, SeenMarks
from memoryd.store.db import Database
from memoryd.store.statement import write_statement

Kind = Literal["briefed", "injected", "recalled", "stored"]
# The kinds that count as use (memory_usage): a tool recalled it, or a prompt was about it.
_COUNTED = frozenset({"recalled", "injected"})
RETENTION_MS = 7 * 86_400_000


class SessionTracker:
    def __init__(self, db: Database, clock: Clock, burst: PromptsInFlight | None = None) -> None:
        self.db = db
        self.clock = clock
        # Noted marks, written after the prompts being answered (`burst`) are (deferred.py).
        self._marks: DeferredRows[Row] = DeferredRows(
            db, self._insert, "session marks", burst, lost=self._lost
        )
        # What each session saw, for `fresh` (seen.py).
        self._seen = SeenMarks(db, self._marks)

    @property
    def writes(self) -> int:
        """Transactions that wrote noted rows."""
        return self._marks.writes

    def pending_rows(self) -> int:
        return self._marks.pending()

    async def fresh(self, session_id: str, memories: list[Memory]) -> list[Memory]:
        """The memories this session has not seen in their current version."""
        if not memories:
            return []
        seen = await self._seen.of(session_id)
        return [m for m in memories if m.id not in seen or seen[m.id] < m.updated_ms]

    def _lost(self, rows: list[Row]) -> None:
        self._seen.forget({row[0] for row in rows})

    def note(self, session_id: str, kind: Kind, memories: Iterable[Memory]) -> None:
        """Record what the session saw now; write it soon, batched with other sessions'."""
        now = self.clock.now_ms()
        rows = [(session_id, m.id, kind, m.updated_ms, now) for m in memories]
        self._marks.add(rows)
        self._seen.noted(rows)

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
                # The newest version seen, as seen.py holds it: a mark of an older one
                # (read before an update, written after) must not make it unseen.
                "memory_updated_ms = max(memory_updated_ms, excluded.memory_updated_ms), "
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
        self._seen.forget([session_id])

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
            self._seen.forget()
        return deleted
