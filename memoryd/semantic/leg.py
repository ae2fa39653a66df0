"""The semantic leg at run time: keeps `memory_vectors` and the in-daemon index up to date in
the background, and answers recall's nearest-neighbour searches."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
import numpy as np

from memoryd.semantic import quantize
from memoryd.semantic.approx import ApproxHits, ApproxIndex, ApproxSnapshot
from memoryd.semantic.embedder import Embedder, Vectors
from memoryd.semantic.index import Hits, Projection, Snapshot, VectorIndex
from memoryd.semantic.ivf import SidecarInvalid
from memoryd.semantic.keeper import APPROX_MIN, IndexKeeper
from memoryd.semantic.static_keeper import StaticKeeper
from memoryd.store.db import Database

log = logging.getLogger(__name__)

BATCH = 128  # memories embedded per write transaction
# Up to this many vectors a static query's search runs on the event loop (~0.3 ms at 10k):
# cheaper than the hop to a thread and back; past it, the product goes to a thread as the
# model's queries do.
INLINE_ROWS = 16_384
POLL_S = 0.2  # how often the worker looks for commits (PRAGMA data_version; no table scan)
# The memories' session is released after this long without anything to embed: ~90 MB less
# for a daemon that mostly answers recalls; loading it again takes ~0.3 s, in the background.
IDLE_RELEASE_S = 120.0

# The memories still to embed: of those the triggers listed as inserted or changed
# (memory_vectors_todo, migration 15), the live, non-sensitive ones with text and no vector.
# (Joining every memory instead cost 3.9 s of CPU at a million, after every write.)
_MISSING = (
    "FROM memory_vectors_todo t JOIN memories m ON m.rowid = t.rowid "
    "LEFT JOIN memory_vectors v ON v.rowid = m.rowid "
    "WHERE v.rowid IS NULL AND m.deleted_ms IS NULL AND m.is_sensitive = 0 "
    "AND m.content IS NOT NULL AND m.content != ''"
)
# Listed rows that need nothing (embedded, sensitive, deleted, gone): cleared after a sync.
_SETTLED = f"FROM memory_vectors_todo WHERE rowid NOT IN (SELECT t.rowid {_MISSING})"


async def _store_vectors(
    model_id: str, rows: list[tuple[int, str]], vectors: Vectors, conn: aiosqlite.Connection
) -> list[int]:
    kept = []
    for (rowid, text), vector in zip(rows, vectors, strict=True):
        # Only if the text is still what was embedded (it may have changed since).
        cursor = await conn.execute(
            "INSERT OR REPLACE INTO memory_vectors (rowid, model, vector) "
            "SELECT rowid, ?, ? FROM memories WHERE rowid = ? AND content = ? "
            "AND is_sensitive = 0 AND deleted_ms IS NULL",
            (model_id, vector.astype(np.float32).tobytes(), rowid, text),
        )
        if cursor.rowcount:
            kept.append(rowid)
            await conn.execute("DELETE FROM memory_vectors_todo WHERE rowid = ?", (rowid,))
    return kept


async def _settle(conn: aiosqlite.Connection) -> None:
    await conn.execute(f"DELETE {_SETTLED}")


def release_freed_memory() -> None:
    """Hand the heap that embedding batches freed back to the system. glibc keeps it otherwise:
    ~90 MB of RSS after a few hundred memories, for good (measured: 287 -> 199 MiB). Only
    glibc has malloc_trim; elsewhere this does nothing."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return
    trim(0)


class SemanticLeg:
    def __init__(
        self,
        db: Database,
        embedder: Embedder,
        idle_release_s: float = IDLE_RELEASE_S,
        poll_s: float = POLL_S,
        approx_min: int = APPROX_MIN,
        static_queries: bool = True,
    ) -> None:
        self.db = db
        self.embedder = embedder
        self.idle_release_s = idle_release_s
        self.poll_s = poll_s
        # The exact index, or above `approx_min` vectors the approximate one (keeper.py).
        self.keeper = IndexKeeper(db, embedder.model.model_id, embedder.dimensions, approx_min)
        self.embedded = 0  # since start-up
        self._quantizing = False  # quantize_queries under way
        # The prompt hook's static query embedding (static.py); MEMORY_SEMANTIC_STATIC_QUERY.
        self.static = StaticKeeper(db, embedder, static_queries)
        self._wake = asyncio.Event()

    @property
    def index(self) -> VectorIndex | ApproxIndex:
        return self.keeper.index

    # ------------------------------------------------------------------ recall side

    async def search(self, text: str, k: int, static: bool = False) -> Hits | ApproxHits | None:
        """`static`: the static query embedding if it is in use (static.py; ~0.05 ms)."""
        if not len(self.index) or not self.keeper.ready or not text.strip():
            return None
        snapshot = self.index.snapshot()
        try:
            query = self.static.embed(text) if static else None
            if query is None:
                # The model's embedding and the product over every vector (~1 ms at 10k,
                # memory-bound) run in a thread, overlapping recall's lexical work.
                return await asyncio.to_thread(self._nearest, snapshot, text, k)
            if isinstance(snapshot, Snapshot) and len(snapshot.matrix) <= INLINE_ROWS:
                return snapshot.search(query, k)
            return await asyncio.to_thread(snapshot.search, query, k)
        except SidecarInvalid as exc:  # the file was damaged under us: lexical until rebuilt
            self.keeper.damaged(snapshot, exc)
            self._wake.set()
            return None

    def product(self, text: str, k: int, static: bool) -> Callable[[], Hits] | None:
        """`search`'s static query over the exact index, as a function for any thread
        (ranking.DenseIndex.product): the same product, so the same hits, as `search`'s."""
        if not static or not len(self.index) or not self.keeper.ready or not text.strip():
            return None
        snapshot = self.index.snapshot()
        if not isinstance(snapshot, Snapshot):
            return None
        query = self.static.embed(text)
        if query is None:
            return None
        return functools.partial(snapshot.search, query, k)

    def written(self) -> None:
        """A memory was stored or edited (MemoryStore.create, update): the worker embeds it
        now instead of at its next look at the database (up to poll_s later)."""
        self._wake.set()

    def _nearest(self, snapshot: Snapshot | ApproxSnapshot, text: str, k: int) -> Hits | ApproxHits:
        return snapshot.search(self.embedder.embed_query(text), k)

    async def quantize_queries(self, cache_dir: Path) -> None:
        """Build (once, cached) and swap in the int8 query model. On any failure queries keep
        the packaged model, which is slower, not worse."""
        self._quantizing = True
        try:
            model = await quantize.ensure(cache_dir, self.embedder.model)
            try:
                await asyncio.to_thread(self.embedder.use_for_queries, model)
            except Exception:
                model.unlink(missing_ok=True)  # damaged: the next start builds it again
                raise
        except Exception as exc:  # any failure leaves recall as it was
            log.warning("int8 query model unavailable, queries use the packaged model: %s", exc)
        else:
            await asyncio.to_thread(release_freed_memory)  # the packaged query session, if any
        finally:
            self._quantizing = False

    async def query_embeddings(self, cache_dir: Path) -> None:
        """The int8 query model, then (unless turned off) the static table. One after the
        other: the table is checked against the query session's vector, which would otherwise
        load the model's float session (~100 MB) for nothing."""
        await self.quantize_queries(cache_dir)
        await self.static_queries(cache_dir)

    async def static_queries(self, cache_dir: Path) -> None:
        """Build (once, cached) and load the static query table, then fit its map: from then
        on queries use it (static_keeper.py); until then, or if it fails, the model."""
        await self.static.start(cache_dir, self.index)
        await asyncio.to_thread(release_freed_memory)  # the file's bytes, the fit's buffers

    @property
    def query_embedding(self) -> str:
        """What embeds the prompt hook's queries: 'static' once the static table is in use,
        else the model's (`query_model`), which embeds every other recall's."""
        return "static" if self.static.in_use else self.query_model

    @property
    def query_model(self) -> str:
        """'int8' once the query model is swapped in, 'building' until then, else 'packaged'."""
        if self.embedder.query_model is not None:
            return "int8"
        return "building" if self._quantizing else "packaged"

    # ------------------------------------------------------------------ upkeep

    async def load(self) -> None:
        """Vectors of another model are dropped (and so re-embedded); the rest are indexed."""

        async def drop_foreign(conn: aiosqlite.Connection) -> None:
            # Found through migration 15's index, not by reading every vector.
            await conn.execute(
                "INSERT OR IGNORE INTO memory_vectors_todo (rowid) "
                "SELECT rowid FROM memory_vectors WHERE model != ?",
                (self.embedder.model.model_id,),
            )
            await conn.execute(
                "DELETE FROM memory_vectors WHERE rowid IN "
                "(SELECT rowid FROM memory_vectors WHERE model != ?)",
                (self.embedder.model.model_id,),
            )

        await self.db.write(drop_foreign)
        await self.keeper.load()
        await asyncio.to_thread(release_freed_memory)  # what reading the rowids left
        await self.refit()
        await self.keeper.maintain(self._wake.set)

    async def refit(self) -> None:
        """Fit the index's projection again if the store's size has moved (in a thread: the
        fit is ~50 ms of numpy at 10k memories, never paid by a recall)."""
        if self.index.stale():
            index = self.index
            matrix, rows = await asyncio.to_thread(index.fit_input)
            index.projection = await asyncio.to_thread(Projection.fit, matrix, rows=rows)
        await self.static.refit(self.index)

    async def pending(self) -> int:
        async with self.db.reader() as conn, conn.execute(f"SELECT COUNT(*) {_MISSING}") as c:
            row = await c.fetchone()
        return int(row[0]) if row else 0

    async def reindex(self) -> int:
        """Forget every vector; the worker embeds the whole store again. Returns how many."""

        async def job(conn: aiosqlite.Connection) -> int:
            cursor = await conn.execute("DELETE FROM memory_vectors")
            await conn.execute(
                "INSERT OR IGNORE INTO memory_vectors_todo (rowid) SELECT rowid FROM memories"
            )
            return cursor.rowcount

        dropped = await self.db.write(job)
        self.keeper.clear()
        self._wake.set()
        return dropped

    async def status(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "model": self.embedder.model.model_id,
            "indexed": len(self.index),
            "pending": await self.pending(),
            "embedded_since_start": self.embedded,
            # Whether similarities are taken after a projection fitted on the current store
            # (index.Projection); briefly false after the store grows or shrinks by 10%.
            "projection_current": not self.index.stale(),
            "query_model": self.query_model,
            # What embeds the prompt hook's queries: "static" (static.py) or the model's
            # query_model (every other recall's).
            "query_embedding": self.query_embedding,
            "static_queries": self.static.status(),
            **self.keeper.status(),
        }

    async def sync_once(self) -> int:
        """Drop index entries whose vectors the triggers removed, then embed what is missing,
        a batch at a time. Returns how many memories were embedded."""
        await self.keeper.prune()
        done = 0
        while True:
            async with (
                self.db.reader() as conn,
                conn.execute(
                    f"SELECT m.rowid, m.content {_MISSING} ORDER BY m.rowid LIMIT ?", (BATCH,)
                ) as cursor,
            ):
                rows = [(int(r[0]), str(r[1])) for r in await cursor.fetchall()]
            if not rows:
                await self._clear_settled()
                await self.refit()
                await self.keeper.maintain(self._wake.set)
                return done
            vectors = await asyncio.to_thread(self.embedder.embed, [text for _, text in rows])

            kept = await self.db.write(
                functools.partial(_store_vectors, self.embedder.model.model_id, rows, vectors)
            )
            if kept:
                wanted = {r: i for i, (r, _) in enumerate(rows)}
                self.keeper.put(kept, vectors[[wanted[r] for r in kept]])
                # While a large store is embedded (an import, a first start), recall already
                # uses the vectors so far: keep their projection fitted as they grow.
                await self.refit()
            done += len(kept)
            self.embedded += len(kept)
            if len(kept) < len(rows):
                await asyncio.sleep(POLL_S)  # changed under us: let the writer settle

    async def _clear_settled(self) -> None:
        """Clear the listed rows that need no vector, writing only if there are any (a write
        would wake this worker again)."""
        async with self.db.reader() as conn, conn.execute(f"SELECT 1 {_SETTLED} LIMIT 1") as c:
            if await c.fetchone() is None:
                return
        await self.db.write(_settle)

    async def run(self) -> None:
        """The background task: sync, then wait for the next commit (or a reindex)."""
        try:
            await self._watch()
        finally:
            self.keeper.stop()

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        async with aiosqlite.connect(self.db.path) as watch:
            version, changes = -1, -1
            last_embedded = loop.time()
            while True:
                async with watch.execute("PRAGMA data_version") as cursor:
                    row = await cursor.fetchone()
                current = int(row[0]) if row else 0
                seen = changes
                if current != version:  # a commit; most touch no memory (store/migrations.py)
                    version = current
                    async with watch.execute("SELECT n FROM semantic_changes") as cursor:
                        row = await cursor.fetchone()
                    changes = int(row[0]) if row else 0
                if changes != seen or self._wake.is_set():
                    self._wake.clear()
                    try:
                        if await self.sync_once():
                            last_embedded = loop.time()
                            await asyncio.to_thread(release_freed_memory)
                    except Exception:  # keep the daemon serving lexical recall regardless
                        log.exception("semantic indexing failed; retrying on the next write")
                        changes = -1  # any next commit retries, not only a memory's
                idle = loop.time() - last_embedded >= self.idle_release_s
                if idle and self.embedder.batches_loaded:
                    self.embedder.release_batches()
                    await asyncio.to_thread(release_freed_memory)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
