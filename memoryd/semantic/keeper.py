"""Which index serves the semantic leg, and its upkeep.

Below `approx_min` stored vectors (MEMORY_SEMANTIC_APPROX_MIN, 50,000 by default) the exact
index.VectorIndex holds every vector in memory, as it always has. From there on the
approximate index (approx.py) serves: its file, `<database>.vectors` (0600), is built in a
background thread and opened at start-up without reading the vectors; what was embedded or
removed since it was built is reconciled against `memory_vectors` by rowid (a covering index
scan, migration 15). A file that is missing, of another model or damaged is built again; until
it is, recall answers lexically (never an error). Vectors embedded while a build runs are put
in both the current index and, once it is swapped in, the new one. Once fresh or masked rows
pass their share, they are folded into a new file (ivf_fold.py) while the store has not
outgrown the file's lists, else the file is built again from the database (ivf_build.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from memoryd.semantic import ivf_build, ivf_fold
from memoryd.semantic.approx import ApproxIndex
from memoryd.semantic.index import VectorIndex
from memoryd.semantic.ivf import Floats, IvfFile, Rowids, SidecarInvalid, quantize
from memoryd.store.db import Database

log = logging.getLogger(__name__)

APPROX_MIN = 50_000
SPOT_CHECKS = 8  # file rows compared with the database when the file is opened
LOOKUP = 500  # rowids per `IN (...)` when reading vectors back
ROWID_PAGE = 100_000  # rowids read a statement


def sidecar_path(db_path: Path) -> Path:
    return Path(f"{db_path}.vectors")


def _connect(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)


def stored_rowids(db_path: Path, model: str) -> Rowids:
    """Every rowid with a vector of `model`, sorted: a scan of migration 15's index, read as
    one string of rowids a page (0.7 s at a million, against 2.2 s and ~20 MB of heap left
    fragmented for a Python tuple a row)."""
    parts, last = [], -1
    with contextlib.closing(_connect(db_path)) as conn:
        while True:
            row = conn.execute(
                "SELECT group_concat(rowid), count(*), max(rowid) FROM (SELECT rowid FROM "
                "memory_vectors WHERE model = ? AND rowid > ? ORDER BY rowid LIMIT ?)",
                (model, last, ROWID_PAGE),
            ).fetchone()
            if not row or not row[1]:
                break
            parts.append(np.fromstring(row[0], dtype=np.int64, sep=","))
            last = int(row[2])
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def stored_vectors(db_path: Path, model: str, rowids: Rowids, dims: int) -> tuple[Rowids, Floats]:
    found, vectors = [], []
    with contextlib.closing(_connect(db_path)) as conn:
        for start in range(0, len(rowids), LOOKUP):
            wanted = rowids[start : start + LOOKUP].tolist()
            marks = ",".join("?" * len(wanted))
            for rowid, blob in conn.execute(
                f"SELECT rowid, vector FROM memory_vectors WHERE model = ? AND rowid IN ({marks})",
                (model, *wanted),
            ):
                found.append(rowid)
                vectors.append(np.frombuffer(blob, dtype=np.float32))
    if not found:
        return np.zeros(0, np.int64), np.zeros((0, dims), np.float32)
    return np.array(found, dtype=np.int64), np.stack(vectors)


def _agrees(file: IvfFile, db_path: Path, model: str) -> bool:
    """Whether a few of the file's rows hold what the database holds for them (a file left
    from another database with the same rowids, or damaged where it is not checksummed)."""
    slots = file.sorted_slots[:: max(1, file.rows // SPOT_CHECKS)][:SPOT_CHECKS]
    rowids = file.sorted_rowids[:: max(1, file.rows // SPOT_CHECKS)][:SPOT_CHECKS]
    found, vectors = stored_vectors(db_path, model, rowids, file.layout.dims)
    if not len(found):
        return True  # all deleted since: nothing to compare, the reconcile masks them
    by_rowid = dict(zip(rowids.tolist(), file.vectors(slots), strict=True))
    codes, scales = quantize(vectors)
    expected = codes.astype(np.float32) * scales[:, None]
    pairs = zip(found.tolist(), expected, strict=True)
    return all(np.allclose(by_rowid[r], e, atol=1e-6) for r, e in pairs)


class IndexKeeper:
    def __init__(self, db: Database, model: str, dims: int, approx_min: int = APPROX_MIN) -> None:
        self.db = db
        self.model = model
        self.dims = dims
        self.approx_min = approx_min
        self.sidecar = sidecar_path(db.path)
        self.index: VectorIndex | ApproxIndex = VectorIndex(dims)
        self.builds = 0  # files built and swapped in since start-up
        self.build_error: str | None = None
        self._building: asyncio.Task[IvfFile] | None = None
        self._since_build: dict[int, Floats] = {}
        self._failed_at = -1  # the index size at the last failed build: not retried until it moves
        self._unreconciled = False  # a file opened at start-up, not compared with the database yet
        self._stop = threading.Event()

    @property
    def approximate(self) -> bool:
        return isinstance(self.index, ApproxIndex)

    @property
    def ready(self) -> bool:
        return not isinstance(self.index, ApproxIndex) or self.index.ready

    def describe(self) -> str:
        if self.approximate:
            return "approximate" if self.ready else "approximate (building)"
        return "exact"

    async def count(self) -> int:
        async with (
            self.db.reader() as conn,
            conn.execute("SELECT COUNT(*) FROM memory_vectors") as cursor,
        ):
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def load(self) -> None:
        """The exact index with every vector, or the approximate one over its file."""
        if await self.count() < self.approx_min:
            await asyncio.to_thread(self.sidecar.unlink, missing_ok=True)
            async with (
                self.db.reader() as conn,
                conn.execute("SELECT rowid, vector FROM memory_vectors") as cursor,
            ):
                rows = list(await cursor.fetchall())
            if rows:
                matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
                self.index.put([r[0] for r in rows], matrix.reshape(len(rows), self.dims))
            return
        self.index = ApproxIndex(self.dims, await asyncio.to_thread(self._open))
        # Reconciled by the leg's first sync (prune), not before the daemon answers: reading a
        # million rowids takes most of a second. Meanwhile a memory deleted while the daemon
        # was down may be among the nearest, but recall reads its hits through its filters
        # (deleted and sensitive rows never pass); one embedded meanwhile is found a moment later.
        self._unreconciled = self.index.ready

    def _open(self) -> IvfFile | None:
        try:
            file = IvfFile.open(self.sidecar, self.model, self.dims)
        except SidecarInvalid as exc:
            log.info("semantic index file to be built again: %s", exc)
            return None
        if not _agrees(file, self.db.path, self.model):
            log.warning("semantic index file %s does not match the database: rebuilding", file.path)
            return None
        return file

    async def reconcile(self) -> None:
        """Make the approximate index hold exactly the stored vectors: rows gone from the
        database are masked, rows missing from the file join the fresh ones (or, if there
        are too many for that, the file is rebuilt first)."""
        index = self.index
        assert isinstance(index, ApproxIndex)
        stored = await asyncio.to_thread(stored_rowids, self.db.path, self.model)
        live = index.live()
        gone = np.setdiff1d(live, stored, assume_unique=True)
        missing = np.setdiff1d(stored, live, assume_unique=True)
        if len(gone):
            index.remove(set(gone.tolist()))
        if self.index is not index:  # cleared meanwhile (a reindex)
            return
        if len(missing) > max(ivf_build.CHUNK, len(stored) // 10):
            log.info("semantic index file %d rows behind: rebuilding it", len(missing))
            self.index = ApproxIndex(self.dims, None)
            self.index.projection = index.projection
        elif len(missing):
            rowids, vectors = await asyncio.to_thread(
                stored_vectors, self.db.path, self.model, missing, self.dims
            )
            if len(rowids):
                index.put(rowids.tolist(), vectors)

    async def prune(self) -> None:
        """Drop what the database's triggers removed (a memory deleted, edited or made
        sensitive) from the index."""
        index = self.index
        if self._unreconciled:
            self._unreconciled = False
            await self.reconcile()
            return
        if isinstance(index, VectorIndex):
            async with (
                self.db.reader() as conn,
                conn.execute("SELECT rowid FROM memory_vectors") as cursor,
            ):
                kept = {int(r[0]) for r in await cursor.fetchall()}
            index.remove(index.rowids() - kept)
            return
        # Only the leg adds vectors, and it adds each to the index too: equal counts mean
        # nothing was removed since.
        if await self.count() == len(index):
            return
        stored = await asyncio.to_thread(stored_rowids, self.db.path, self.model)
        gone = np.setdiff1d(index.live(), stored, assume_unique=True)
        if len(gone) and self.index is index:
            index.remove(set(gone.tolist()))

    def put(self, rowids: list[int], vectors: Floats) -> None:
        self.index.put(rowids, vectors)
        if self._building is not None:
            self._since_build.update(zip(rowids, vectors, strict=True))

    def damaged(self, snapshot: object, error: Exception) -> None:
        """A search found the file damaged (truncated or unreadable while in use): drop it and
        build it again, recall being lexical meanwhile. `snapshot` is what the search used, so
        that a file already replaced is not dropped."""
        index = self.index
        if not isinstance(index, ApproxIndex) or getattr(snapshot, "file", None) is not index.file:
            return
        log.warning("semantic index file damaged, rebuilding it: %s", error)
        self.index = ApproxIndex(self.dims, None)
        self.index.projection = index.projection

    def clear(self) -> None:
        """Every vector was dropped (a reindex): back to an empty exact index."""
        self.stop()
        self._stop = threading.Event()
        self._building = None
        self.index = VectorIndex(self.dims)
        self.sidecar.unlink(missing_ok=True)

    def stop(self) -> None:
        """The daemon is stopping: a build under way gives up at its next chunk."""
        self._stop.set()
        if self._building is not None:
            self._building.cancel()

    async def maintain(self, wake: Callable[[], None]) -> None:
        """Swap in a finished build, or start one when the exact index has grown past the
        threshold or the approximate one has too many fresh or masked rows."""
        building = self._building
        if building is not None:
            if building.done():
                self._building = None
                await self._finished(building)
            return
        if self.approximate:
            wanted = isinstance(self.index, ApproxIndex) and self.index.needs_rebuild()
        else:
            wanted = len(self.index) >= self.approx_min
        if wanted and self._failed_at != len(self.index):
            self._since_build = {}
            self._building = asyncio.create_task(self._build(wake), name="semantic-index-build")

    async def _finished(self, building: asyncio.Task[IvfFile]) -> None:
        try:
            file = building.result()
        except asyncio.CancelledError:
            return
        except Exception as exc:  # the index in use goes on serving
            log.exception("building the semantic index file failed")
            self.build_error = str(exc) or type(exc).__name__
            self._failed_at = len(self.index)
            return
        new = ApproxIndex(self.dims, file)
        new.projection = self.index.projection
        if self._since_build:
            rowids = list(self._since_build)
            new.put(rowids, np.stack([self._since_build[r] for r in rowids]))
        self._since_build = {}
        self.index = new
        self.builds += 1
        self.build_error = None
        await self.reconcile()

    async def _build(self, wake: Callable[[], None]) -> IvfFile:
        """Build in a thread of its own (a daemon thread: the daemon's stop does not wait
        for it; `stop` makes it give up) and open the result."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[IvfFile] = loop.create_future()
        make = self._folding() or functools.partial(
            ivf_build.build,
            self.db.path,
            self.sidecar,
            self.model,
            self.dims,
            self.index.projection,
            self._stop,
        )

        def run() -> None:
            try:
                make()
                result: IvfFile | BaseException = IvfFile.open(self.sidecar, self.model, self.dims)
            except BaseException as exc:  # handed to the event loop, raised there
                result = exc
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_settle, done, result)

        threading.Thread(target=run, name="semantic-index-build", daemon=True).start()
        try:
            return await done
        finally:
            wake()

    def _folding(self) -> Callable[[], int] | None:
        """The fold of the fresh and masked rows into the current file (ivf_fold.py), unless
        the store has outgrown its lists: then None, and the file is built again."""
        index = self.index
        if not isinstance(index, ApproxIndex) or index.file is None:
            return None
        if not ivf_fold.foldable(index.file, len(index), index.masked_rows):
            return None
        snapshot = index.snapshot()
        fresh = (snapshot.fresh.rowids.copy(), snapshot.fresh.matrix.copy())
        masked = (snapshot.masked_slots, snapshot.masked_vectors)
        return functools.partial(
            ivf_fold.fold,
            index.file,
            self.sidecar,
            self.model,
            fresh,
            masked,
            index.projection,
            self._stop,
        )

    def status(self) -> dict[str, Any]:
        return {"index": self.describe(), "index_builds": self.builds}


def _settle(future: asyncio.Future[IvfFile], result: IvfFile | BaseException) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
