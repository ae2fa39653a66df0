"""The integrity check of a large database, made once the daemon serves rather than before.

`PRAGMA quick_check` reads the whole file: at a million memories 0.8 s of CPU and 2-3 s of
disk, most of the time to a first answer (docs/benchmarks.md). A file no larger than
`MEMORY_CHECK_LATER_BYTES` is still checked before serving, and refused whole if damaged. A
larger one is served at once and checked on a connection of its own; if the check fails, every
write is refused from then on (`StoreDamaged`), and /health and `memory status` say so: what
is already damaged may be read, nothing new is written into it. `memory doctor` says what to
do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiosqlite

from memory_core.errors import StoreDamaged
from memoryd.tasks import cancel_and_wait

log = logging.getLogger(__name__)

OK = "ok"
PENDING = "not checked yet"  # opened unchecked, the check not started
CHECKING = "checking"
FAILED = "failed"


class LaterCheck:
    """Where the check of one open database stands: `state` is OK, PENDING, CHECKING, or
    FAILED followed by SQLite's first complaint."""

    def __init__(self) -> None:
        self.state = OK
        self._task: asyncio.Task[None] | None = None

    def defer(self) -> None:
        self.state = PENDING

    def start(self, connect: Callable[[], Awaitable[aiosqlite.Connection]]) -> None:
        """Run the deferred check in the background (nothing to do if none was deferred)."""
        if self.state == PENDING:
            self.state = CHECKING
            self._task = asyncio.create_task(self._check(connect))

    async def _check(self, connect: Callable[[], Awaitable[aiosqlite.Connection]]) -> None:
        try:
            conn = await connect()
            try:
                rows = list(await conn.execute_fetchall("PRAGMA quick_check(1)"))
            except asyncio.CancelledError:
                await conn.interrupt()  # stopping: the rest of the file need not be read
                raise
            finally:
                await conn.close()
            found = str(rows[0][0]) if rows else "no answer"
        except Exception as exc:
            found = str(exc)
        if found == "ok":
            self.state = OK
            return
        self.state = f"{FAILED}: {found}"
        log.error("the database failed its integrity check; writes are refused: %s", found)

    def refuse_writes(self, path: object) -> None:
        if self.state.startswith(FAILED):
            raise StoreDamaged(
                f"database {path} failed its integrity check ({self.state[len(FAILED) + 2 :]}); "
                "nothing more is written to it. Run `memory doctor`."
            )

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
