"""What each session was shown, in memory, for the prompt hook's dedup (tracker.py): every
prompt asked the database which of its memories the session had seen, a hand-off to a reader
thread and back per prompt.

The daemon is the only writer of `hook_session_memories`, and every row it writes was noted
first (`SessionTracker.note`), so memory can hold the answer:

- the sessions that may have rows: read once, then every noted session added (a session
  missing from them has no rows: its dedup needs no read at all); read again after a cleanup,
  so that they stay as few as the rows;
- for the sessions asked about lately (at most `MAX_SESSIONS`), each memory's newest version
  seen: read once per session (its rows, and the rows noted but not written yet), then every
  note added. Rows deleted (`forget_injected`, a cleanup) or lost (a failed write) drop what
  memory held of them, read again when next asked.

A row moves from memory to the table while a read runs: rows noted before a read began are in
the table by then or still in memory (taken when it began), and rows noted while it runs are
collected beside it; so every row is seen in one place or another.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable

from memoryd.sessions.deferred import DeferredRows
from memoryd.store.db import Database

MAX_SESSIONS = 512  # sessions whose marks are kept in memory
# (session_id, memory_id, kind, memory_updated_ms, at_ms), as tracker.py writes them
Row = tuple[str, str, str, int, int]
Seen = dict[str, int]  # memory id -> the newest version (updated_ms) the session saw


def _add(seen: Seen, memory_id: str, updated_ms: int) -> None:
    seen[memory_id] = max(updated_ms, seen.get(memory_id, updated_ms))


class SeenMarks:
    def __init__(self, db: Database, marks: DeferredRows[Row]) -> None:
        self.db = db
        self._marks = marks  # the rows noted and not written yet
        # Every session with rows in the table or noted, maybe some whose rows are gone
        # (None: not read yet, or dropped after a cleanup).
        self._sessions: set[str] | None = None
        self._reading_sessions: asyncio.Task[set[str]] | None = None
        self._noted_while_reading: set[str] = set()
        # The sessions whose marks are all known, the least recently asked first.
        self._seen: OrderedDict[str, Seen] = OrderedDict()
        self._reading: dict[str, asyncio.Task[Seen]] = {}
        self._noted_while: dict[str, Seen] = {}  # a session being read: its notes meanwhile
        # Moved on by every deletion: a read begun before one keeps its answer to itself.
        self._epoch = 0

    def noted(self, rows: Iterable[Row]) -> None:
        for session_id, memory_id, _, updated_ms, _ in rows:
            if self._sessions is not None:
                self._sessions.add(session_id)
            elif self._reading_sessions is not None:
                self._noted_while_reading.add(session_id)
            for seen in (self._seen.get(session_id), self._noted_while.get(session_id)):
                if seen is not None:
                    _add(seen, memory_id, updated_ms)

    def forget(self, sessions: Iterable[str] | None = None) -> None:
        """Rows of `sessions` (None: of any session) were deleted or lost: read them again."""
        self._epoch += 1
        if sessions is None:
            self._seen.clear()
            self._sessions = None
            return
        for session_id in sessions:
            self._seen.pop(session_id, None)

    async def of(self, session_id: str) -> Seen:
        """What the session saw: memory id -> the newest version."""
        found = self._seen.get(session_id)
        if found is not None:
            self._seen.move_to_end(session_id)
            return found
        await self._sessions_with_marks()
        # Read unless sure there is nothing: the sessions may have been dropped meanwhile.
        if self._sessions is None or session_id in self._sessions:
            reading = self._reading.get(session_id)
            if reading is None:
                reading = asyncio.create_task(self._read(session_id), name="memoryd-seen")
                self._reading[session_id] = reading
            return await asyncio.shield(reading)
        found = {}  # no rows, none noted: `noted` fills it from now on
        self._keep(session_id, found)
        return found

    def _keep(self, session_id: str, seen: Seen) -> None:
        self._seen[session_id] = seen
        while len(self._seen) > MAX_SESSIONS:
            self._seen.popitem(last=False)

    async def _read(self, session_id: str) -> Seen:
        epoch = self._epoch
        seen = self._unwritten(session_id)
        meanwhile: Seen = {}
        self._noted_while[session_id] = meanwhile
        try:
            async with self.db.reader() as conn:
                rows = await conn.execute_fetchall(
                    "SELECT memory_id, MAX(memory_updated_ms) FROM hook_session_memories "
                    "WHERE session_id = ? GROUP BY memory_id",
                    (session_id,),
                )
            for memory_id, updated_ms in [*rows, *meanwhile.items()]:
                _add(seen, memory_id, updated_ms)
            if epoch == self._epoch:
                self._keep(session_id, seen)
            return seen
        finally:
            del self._noted_while[session_id]
            del self._reading[session_id]

    def _unwritten(self, session_id: str) -> Seen:
        seen: Seen = {}
        for row in (*self._marks.writing, *self._marks.queued):
            if row[0] == session_id:
                _add(seen, row[1], row[3])
        return seen

    async def _sessions_with_marks(self) -> set[str]:
        if self._sessions is not None:
            return self._sessions
        if self._reading_sessions is None:
            self._reading_sessions = asyncio.create_task(
                self._read_sessions(), name="memoryd-session-marks"
            )
        return await asyncio.shield(self._reading_sessions)

    async def _read_sessions(self) -> set[str]:
        # More sessions than have rows (a cleanup ran meanwhile) is no wrong answer.
        self._noted_while_reading = {row[0] for row in (*self._marks.writing, *self._marks.queued)}
        try:
            async with self.db.reader() as conn:
                rows = await conn.execute_fetchall(
                    "SELECT DISTINCT session_id FROM hook_session_memories"
                )
            sessions = {row[0] for row in rows} | self._noted_while_reading
            self._sessions = sessions
            return sessions
        finally:
            self._reading_sessions = None
            self._noted_while_reading = set()
