"""Connections to the SQLite file: one writer through which every write passes, and readers.

The writer runs each transaction as `BEGIN IMMEDIATE` under an asyncio lock, so writes never
contend inside SQLite and no "database is locked" can reach a client. Readers see committed
data through WAL and never block the writer.

Writes that queue up while a transaction runs share the next one (group commit): one BEGIN
and one COMMIT, the two steps that go to the writer's thread (memoryd/store/writer.py), for up
to MAX_BATCH writes, whose statements run on the event loop's thread in between. A job that
fails without having changed a row (a validation error, a conflict: the usual failures) fails
alone; one that fails after changing rows undoes the shared transaction, and so does a COMMIT
that fails: the batch is then run again one job per transaction, so that only the job that
cannot be stored fails. Every caller hears of its job once its transaction has committed
(with `synchronous=NORMAL`, unchanged: durable across a crash of the process).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from memory_core.disk import is_disk_full
from memory_core.errors import DiskFull, StoreCorrupt
from memory_core.private_files import private_dir
from memoryd.store.fts_segments import IndexCompactor, room_beside
from memoryd.store.integrity import LaterCheck
from memoryd.store.migrations import MIGRATIONS, Migration, split_statements
from memoryd.store.reader import ReaderConnection
from memoryd.store.wal import damage_advice, damage_message, damaged_wal
from memoryd.store.writer import WriterConnection, connect_writer

T = TypeVar("T")
C = TypeVar("C", bound=aiosqlite.Connection)

MAX_BATCH = 64  # writes per shared transaction, so that one batch never holds the writer long

_HEADER = b"SQLite format 3\x00"
_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",  # durable across process crashes; WAL fsyncs at checkpoint
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=ON",
)


def prepare_path(path: Path) -> None:
    """The database directory is private (memory_core/private_files.py) and the file, when it
    exists, is 0600 and SQLite."""
    private_dir(path.parent, "the database")
    if not path.exists():
        return
    if not path.is_file():
        raise StoreCorrupt(f"database {path} is not a regular file; refusing to touch it")
    if not os.access(path, os.R_OK | os.W_OK):
        raise StoreCorrupt(f"database {path} is not readable and writable by this user")
    if path.stat().st_size:
        with path.open("rb") as handle:
            if handle.read(16) != _HEADER:
                raise StoreCorrupt(
                    f"{path} is not a SQLite database; refusing to touch it. Move it aside "
                    "(or restore a backup) and start again."
                )
    problem = damaged_wal(path)  # before SQLite opens it: its replay would drop data
    if problem is not None:
        raise StoreCorrupt(f"{damage_message(path, problem)}. Fix: {damage_advice(path)}.")


def _files_of(path: Path) -> set[Path]:
    """The database file and its WAL files, those that exist."""
    return {f for f in (Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")) if f.exists()}


def _remove_new_files(path: Path, before: set[Path]) -> None:
    """After an open that found the disk full: remove what it created and could not fill (the
    empty database of a first start, SQLite's empty WAL and partial shared-memory file), so
    that nothing half-written is left. A file that held anything before is never touched."""
    for new in _files_of(path) - before:
        with contextlib.suppress(OSError):
            if new.name.endswith("-shm") or new.stat().st_size == 0:
                new.unlink()


def _protect_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(f"{path}{suffix}")
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(candidate.stat().st_mode) != 0o600:
                os.chmod(candidate, 0o600)


class Database:
    def __init__(self, path: Path, readers: int = 2) -> None:
        self.path = path
        self._reader_count = readers
        self._writer: WriterConnection | None = None
        self._readers: asyncio.Queue[ReaderConnection] = asyncio.Queue()
        self._all_readers: list[ReaderConnection] = []
        self._write_lock = asyncio.Lock()
        self._queued: list[_Queued] = []
        self._flusher: asyncio.Task[None] | None = None
        self.integrity = LaterCheck()
        self.segments = IndexCompactor(self.on_reader, self.write, lambda: room_beside(path))

    async def open(
        self,
        migrations: list[Migration] | None = None,
        integrity_checked: bool = False,
        check_later_from: int | None = None,
    ) -> None:
        """Open, check and migrate. `integrity_checked`: the caller ran `check_database` on
        this file just before (`memoryd serve` does, to refuse with one clear line before
        serving): `PRAGMA quick_check` reads the whole file, 0.8 s of CPU and 2-3 s of disk at
        a million memories, and ran twice on every start. A file of more than
        `check_later_from` bytes is not checked here at all: `start_later_check` does it once
        the daemon serves (memoryd/store/integrity.py)."""
        try:
            prepare_path(self.path)
        except OSError as exc:
            if is_disk_full(exc):
                raise self._disk_full("memoryd cannot start until there is room") from None
            raise
        before = _files_of(self.path)
        old_umask = os.umask(0o077)
        try:
            self._writer = await self._configured(await connect_writer(self.path))
            _protect_files(self.path)
            if check_later_from is not None and self.path.stat().st_size > check_later_from:
                self.integrity.defer()
            elif not integrity_checked:
                await self._check_integrity(self._writer)
            await self.migrate(migrations or MIGRATIONS)
            for _ in range(self._reader_count):
                reader = await self._connect("PRAGMA query_only=1")
                self._all_readers.append(reader)
                self._readers.put_nowait(reader)
        except sqlite3.DatabaseError as exc:
            await self.close()
            if is_disk_full(exc, self.path.parent):
                _remove_new_files(self.path, before)
                raise self._disk_full("memoryd cannot start until there is room") from None
            raise StoreCorrupt(
                f"database {self.path} cannot be opened ({exc}); refusing to touch it. Run "
                "`memory doctor`, or move the file aside and restore a backup."
            ) from None
        except BaseException:
            await self.close()  # e.g. a schema newer than ours: leave no connection open
            raise
        finally:
            os.umask(old_umask)

    def _disk_full(self, consequence: str) -> DiskFull:
        return DiskFull(
            f"the disk holding {self.path} is full: {consequence}. Free some space on it "
            f"(df -h {self.path.parent}), then try again"
        )

    async def _connect(self, *extra_pragmas: str) -> ReaderConnection:
        conn = ReaderConnection(self.path)
        await conn  # starts its thread and opens the file there
        return await self._configured(conn, *extra_pragmas)

    async def _configured(self, conn: C, *extra_pragmas: str) -> C:
        try:
            conn.row_factory = sqlite3.Row
            for pragma in (*_PRAGMAS, *extra_pragmas):
                await conn.execute(pragma)
        except BaseException:
            # close() cannot reach a connection not yet stored, and its thread (not a daemon
            # thread) would keep the process alive: `memoryd serve` refused, then never exited.
            await conn.close()
            raise
        return conn

    def start_later_check(self) -> None:
        """Check, in the background, the large file `open` left unchecked (if it did)."""
        self.integrity.start(lambda: self._connect("PRAGMA query_only=1"))

    async def _check_integrity(self, conn: aiosqlite.Connection) -> None:
        async with conn.execute("PRAGMA quick_check(1)") as cursor:
            row = await cursor.fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {row[0] if row else '?'}")

    async def close(self) -> None:
        await self.integrity.stop()
        await self.segments.stop()  # before the last writes: it queues writes of its own
        if self._flusher is not None:
            await self._flusher  # queued writes commit before the writer closes
        if self._writer is not None:
            async with self._write_lock:
                with contextlib.suppress(sqlite3.Error):
                    await self._writer.execute("PRAGMA optimize")
                await self._writer.close()
                self._writer = None
        for reader in self._all_readers:
            await reader.close()
        self._all_readers.clear()

    @property
    def writer(self) -> WriterConnection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    async def schema_version(self) -> int:
        async with self.writer.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
        ) as cursor:
            if await cursor.fetchone() is None:
                return 0
        async with self.writer.execute("SELECT MAX(version) FROM schema_migrations") as cursor:
            row = await cursor.fetchone()
        return int(row[0] or 0) if row else 0

    async def migrate(self, migrations: list[Migration]) -> None:
        await self.writer.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)"
        )
        current = await self.schema_version()
        newest = migrations[-1].version
        if current > newest:
            raise StoreCorrupt(
                f"database {self.path} has schema version {current}, newer than this memoryd "
                f"understands ({newest}); upgrade memoryd"
            )
        for migration in migrations:
            if migration.version <= current:
                continue
            async with self.transaction() as conn:
                for statement in split_statements(migration.sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)",
                    (migration.version, migration.name, time.time_ns() // 1_000_000),
                )

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A `BEGIN IMMEDIATE` transaction on the writer. Only use through `write()` or
        during start-up: callers must not be cancelled half-way (see `write`)."""
        self.integrity.refuse_writes(self.path)
        async with self._write_lock:
            conn = self.writer
            await conn.execute("BEGIN IMMEDIATE")
            try:
                conn.begin_inline()  # the statements between run on the loop's thread
                try:
                    yield conn
                    await conn.run_at_commit()
                finally:
                    conn.end_inline()
                await conn.execute("COMMIT")
            except BaseException:
                conn.drop_at_commit()
                # SQLite may have rolled back already (a full disk does that), and a COMMIT
                # that failed may have left the transaction open: end it, whatever it was.
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
                raise

    async def write(
        self,
        job: Callable[[aiosqlite.Connection], Awaitable[T]],
        stored_if_disk_full: str = "nothing was stored",
        alone: bool = False,
    ) -> T:
        """Run `job` in a write transaction, possibly shared with other queued jobs (see the
        module's docstring). Shielded: once queued, a job commits or rolls back even if the
        request that asked for it goes away. `stored_if_disk_full` tells what a full disk
        leaves stored (for a caller whose earlier transactions committed). `alone`: a long job
        (an import batch) that shares its transaction with no other, so that the small writes
        queued beside it commit, and are answered, without waiting for it."""
        self.integrity.refuse_writes(self.path)
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queued.append(_Queued(job, done, alone))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        try:
            result: T = await asyncio.shield(done)
        except sqlite3.Error as exc:
            if is_disk_full(exc, self.path.parent):
                raise self._disk_full(stored_if_disk_full) from None
            raise
        return result

    async def _flush(self) -> None:
        while self._queued:
            size = next(
                (n for n, queued in enumerate(self._queued[:MAX_BATCH]) if queued.alone),
                MAX_BATCH,
            )
            size = max(size, 1)  # a job alone first in the queue: its own transaction
            batch, self._queued = self._queued[:size], self._queued[size:]
            if len(batch) == 1 or not await self._run_shared(batch):
                for queued in batch:
                    await self._run_alone(queued)
            self.segments.written()

    async def _run_alone(self, queued: _Queued) -> None:
        try:
            async with self.transaction() as conn:
                result = await queued.job(conn)
        except BaseException as exc:
            queued.settle(False, exc)
            if not isinstance(exc, Exception):
                raise
        else:
            queued.settle(True, result)

    async def _run_shared(self, batch: list[_Queued]) -> bool:
        """Run the batch in one transaction; False if it had to be undone (nothing settled)."""
        outcomes: list[tuple[bool, Any]] = []
        try:
            async with self.transaction() as conn:
                for queued in batch:
                    before = conn.total_changes
                    try:
                        outcomes.append((True, await queued.job(conn)))
                    except Exception as exc:
                        if conn.total_changes != before:
                            raise _UndoBatch from exc
                        outcomes.append((False, exc))
        except _UndoBatch:
            return False
        except BaseException as exc:
            if isinstance(exc, Exception) and len(outcomes) == len(batch):
                # COMMIT failed and undid every job: they run again one per transaction, so
                # that only a job whose writes cannot commit fails (and a full disk may still
                # take the smaller transactions).
                return False
            # BEGIN failed, or the flush was cancelled: nothing was stored.
            for queued in batch:
                queued.settle(False, exc)
            if not isinstance(exc, Exception):
                raise
            return True
        for queued, (ok, value) in zip(batch, outcomes, strict=True):
            queued.settle(ok, value)
        return True

    async def on_reader(self, job: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """`job` run on a reader connection (as `write` runs one on the writer)."""
        async with self.reader() as conn:
            return await job(conn)

    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[ReaderConnection]:
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(FileNotFoundError):
                total += Path(f"{self.path}{suffix}").stat().st_size
        return total


async def check_database(path: Path, check_later_from: int | None = None) -> None:
    """Open, verify and migrate the database once, then close it: raises StoreCorrupt. A file
    of more than `check_later_from` bytes is opened and migrated, not verified (see `open`)."""
    db = Database(path, readers=0)
    await db.open(check_later_from=check_later_from)
    await db.close()


class _UndoBatch(Exception):
    """A job failed after changing rows: its shared transaction must be rolled back."""


@dataclass(frozen=True)
class _Queued:
    job: Callable[[aiosqlite.Connection], Awaitable[Any]]
    done: asyncio.Future[Any]
    alone: bool = False

    def settle(self, ok: bool, value: Any) -> None:
        if self.done.done():
            return
        if ok:
            self.done.set_result(value)
        else:
            self.done.set_exception(value)
