"""The prompt hook's bookkeeping, written after the answers: the session marks and use counts
(tracker.py) and the journal rows (journal.py) a hook answer notes are kept in memory and
written by one background task, in one transaction, once no prompt is being answered.

Eight sessions' prompts arriving together finish one after another (each one's recall is
Python on the event loop): writing as soon as each answer was ready cost a transaction per
prompt (its BEGIN and COMMIT are two hand-offs to the writer's thread, and the commit writes
the pages it touched), 0.8 transactions a prompt in such bursts. Waiting until the last
prompt of the burst is answered writes them all in one. A prompt that arrives alone is
written at once, as before. Under a stream of prompts that overlap without end, rows wait at
most `MAX_WAIT_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Generic, TypeVar

import aiosqlite

from memoryd.store.db import Database

MAX_WAIT_S = 1.0
R = TypeVar("R")
Job = Callable[[aiosqlite.Connection], Awaitable[None]]

log = logging.getLogger("memoryd.sessions")


class PromptsInFlight:
    """How many prompt requests are being answered; `quiet` waits until none is."""

    def __init__(self, max_wait_s: float = MAX_WAIT_S) -> None:
        self.max_wait_s = max_wait_s
        self._answering = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        self._answering += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._answering -= 1
            if not self._answering:
                self._quiet.set()

    async def quiet(self) -> None:
        """Return once no prompt is being answered, `release` was called, or `max_wait_s`
        has passed."""
        if self._quiet.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.max_wait_s):
                await self._quiet.wait()

    def release(self) -> None:
        """Let every `quiet` waiting now return (a flush that must not wait), leaving the
        count as it is."""
        self._quiet.set()
        if self._answering:
            self._quiet.clear()  # the waiters were woken already; later ones wait again


class DeferredRows(Generic[R]):
    """Rows noted now, written soon by one background task: everything noted meanwhile in
    one transaction (`insert` builds its job), after `burst` is quiet when one is given."""

    def __init__(
        self,
        db: Database,
        insert: Callable[[list[R]], Job],
        what: str,
        burst: PromptsInFlight | None = None,
        lost: Callable[[list[R]], None] | None = None,
    ) -> None:
        self.db = db
        self.insert = insert
        self.what = what  # for the log line when a write fails
        self.burst = burst
        self.lost = lost  # told of the rows a failed write dropped
        self.queued: list[R] = []  # noted, not yet in a transaction
        self.writing: list[R] = []  # in the transaction being written
        self.writes = 0  # transactions that wrote noted rows
        self._flusher: asyncio.Task[None] | None = None
        self._hurry = False  # a flush waits: write without waiting for the burst

    def add(self, rows: Iterable[R]) -> None:
        self.queued += rows
        if self.queued and self._flusher is None:
            self._flusher = asyncio.create_task(self._drain(), name=f"memoryd-{self.what}")

    def pending(self) -> int:
        return len(self.queued) + len(self.writing)

    async def _drain(self) -> None:
        try:
            if self.burst is not None and not self._hurry:
                await self.burst.quiet()  # the other answers' rows join this transaction
            while self.queued:
                self.writing, self.queued = self.queued, []
                try:
                    await self.db.write(self.insert(self.writing))
                    self.writes += 1
                except Exception:  # a lost row costs a repeated injection or a journal line
                    log.exception("could not write %d %s", len(self.writing), self.what)
                    if self.lost is not None:
                        self.lost(self.writing)
                finally:
                    self.writing = []
        finally:
            self._flusher = None
            self._hurry = False

    async def flush(self) -> None:
        """Wait until every row noted so far is written (now, not after the burst)."""
        while self._flusher is not None:
            self._hurry = True
            if self.burst is not None:
                self.burst.release()
            await asyncio.shield(self._flusher)
