"""The writer connection: aiosqlite's, except that inside a write transaction its statements
run on the event loop's own thread instead of travelling to the connection's thread.

aiosqlite runs every call (an execute, a fetchone, a cursor's close) on a thread of its own
and wakes the event loop with the answer: a hand-off costing more than most statements it
carries (an indexed look-up or a one-row insert takes 10-50 µs; the hop, with the wake-up and
the GIL changing hands, 50-100 µs, and far more when the loop is busy). A store makes three
to eleven such calls, so under concurrent load the hops, not SQLite, bounded the throughput.

Inside a transaction the writer already holds SQLite's write lock, so a statement never waits
for another connection: it costs its own CPU and page-cache reads. Those run inline. What can
wait, `BEGIN IMMEDIATE` (for another process's write lock, up to busy_timeout) and `COMMIT`
(which may checkpoint the WAL and fsync), still goes to the thread, so the loop never blocks
on them. A long job gives the loop a turn every `SLICE_S` so that other requests are not held
up while it runs.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite

SLICE_S = 0.004  # the longest a write job holds the event loop between two of its statements
_ITER_CHUNK = 64  # aiosqlite's default rows per fetch when a cursor is iterated


class WriterConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run inline while `inline` is set. Only the holder
    of the database's write lock sets it, and only inside its transaction."""

    def __init__(self, path: Path) -> None:
        # check_same_thread off: the sqlite3 connection is made on aiosqlite's thread and
        # also used from the loop's. Never at once: inline calls run only while no call is
        # queued for the thread (every thread call is awaited before `inline` is set).
        super().__init__(
            partial(sqlite3.connect, path, isolation_level=None, check_same_thread=False),
            _ITER_CHUNK,
        )
        self.inline = False
        self._slice_began = 0.0
        self._at_commit: dict[str, tuple[str, Sequence[Any]]] = {}

    def begin_inline(self) -> None:
        self.inline = True
        self._slice_began = time.perf_counter()

    def end_inline(self) -> None:
        self.inline = False

    def at_commit(self, key: str, sql: str, params: Sequence[Any]) -> None:
        """Run `sql` once, last in this transaction; a later call with the same `key` replaces
        it. For a value of which only the last matters (the clock: a batch of 64 stores
        upserted it 64 times)."""
        self._at_commit[key] = (sql, params)

    async def run_at_commit(self) -> None:
        for sql, params in self._at_commit.values():
            await self.execute(sql, params)
        self._at_commit.clear()

    def drop_at_commit(self) -> None:
        """The transaction is rolled back: what was to run at its commit, too."""
        self._at_commit.clear()

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self.inline:
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        if time.perf_counter() - self._slice_began > SLICE_S:
            await asyncio.sleep(0)  # the write lock stays held: nothing else can write
            self._slice_began = time.perf_counter()
        return fn(*args, **kwargs)


async def connect_writer(path: Path) -> WriterConnection:
    conn = WriterConnection(path)
    await conn  # starts its thread and opens the file there
    return conn
