"""The static query embedding at run time (static.py): its table built once into the cache in
the background and checked, and its map fitted on the store's memories as the index grows. Until
both are ready (or if anything fails) queries run the model, as before."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import numpy as np

from memoryd.semantic import static
from memoryd.semantic.approx import ApproxIndex
from memoryd.semantic.builds import ensure_built
from memoryd.semantic.embedder import PROBE, Embedder, Vectors
from memoryd.semantic.index import REFIT_GROWTH, VectorIndex
from memoryd.store.db import Database

log = logging.getLogger(__name__)

LOOKUP = 500  # rowids per `IN (...)` when reading the fit's sample


class StaticKeeper:
    def __init__(self, db: Database, embedder: Embedder, enabled: bool = True) -> None:
        """`enabled`: MEMORY_SEMANTIC_STATIC_QUERY (off: "off", and `start` does nothing)."""
        self.db = db
        self.embedder = embedder
        self.enabled = enabled
        self.queries: static.StaticQueries | None = None  # the table, once built and checked
        # "building" (from the leg's start until the table is loaded and its map fitted),
        # "ready" (loaded), "failed: why" or "off".
        self.state = "building" if enabled else "off"
        self._fitting = False

    def embed(self, text: str) -> Vectors | None:
        """The query's static vector, or None: the model answers (see StaticQueries.embed)."""
        queries = self.queries
        return queries.embed(text) if queries is not None else None

    @property
    def in_use(self) -> bool:
        return self.queries is not None and self.queries.map is not None

    async def start(self, cache_dir: Path, index: VectorIndex | ApproxIndex) -> None:
        """Build (once, in a child process) and load the table, then fit its map for `index`.
        On any failure it is not used; a cached file that fails its checks is removed, so
        that the next start builds it again."""
        if not self.enabled:
            return
        model = self.embedder.model
        self.state = "building"
        if not static.usable(self.embedder.query_tokenizer):
            self.state = f"failed: a vocabulary over {static.MAX_VOCAB} tokens"
            return
        target = static.cached_table(cache_dir, model)
        try:
            for attempt in (1, 2):
                await ensure_built(target, "memoryd.semantic.static", *static.build_args(model))
                try:
                    self.queries = await asyncio.to_thread(self._load, target)
                    break
                except static.StaticInvalid as exc:
                    target.unlink(missing_ok=True)
                    if attempt == 2:
                        raise
                    log.warning("static query table to be built again: %s", exc)
        except Exception as exc:  # any failure leaves queries on the model
            self.state = f"failed: {exc}"
            log.warning("static query embedding unavailable, queries run the model: %s", exc)
            return
        await self.refit(index)
        self.state = "ready"

    def _load(self, target: Path) -> static.StaticQueries:
        model = self.embedder.model
        table = static.read_table(target, model.sha256)
        queries = static.StaticQueries(table, self.embedder.query_tokenizer)
        # The query session's vector (loaded for queries anyway; within ~0.99 of the model's):
        # `check` would load the model's full float session for it, ~100 MB more RSS.
        agreement = queries.agreement(self.embedder.embed_query(PROBE))
        if agreement < static.MIN_PROBE_AGREEMENT:
            raise static.StaticInvalid(f"{target} disagrees with the model ({agreement:.2f})")
        return queries

    def stale(self, rows: int) -> bool:
        """Whether the map should be fitted (again) for an index of `rows` rows."""
        if self.queries is None or self._fitting:
            return False
        fitted = self.queries.map
        if fitted is None:
            return rows >= static.MIN_MAP_ROWS
        return rows < static.MIN_MAP_ROWS or abs(rows - fitted.rows) > REFIT_GROWTH * fitted.rows

    async def refit(self, index: VectorIndex | ApproxIndex) -> None:
        """Fit the map on a sample of the indexed memories (their text and stored vector)."""
        queries = self.queries
        if queries is None or not self.stale(len(index)):
            return
        self._fitting = True
        try:
            rows = len(index)
            rowids = await asyncio.to_thread(_sample, index)
            texts, vectors = await self._read(rowids)
            queries.map = await asyncio.to_thread(queries.fit, texts, vectors, rows)
        except Exception:  # the map in use (or the model) goes on serving
            log.exception("fitting the static query map failed")
        finally:
            self._fitting = False

    async def _read(self, rowids: list[int]) -> tuple[list[str], Vectors]:
        texts, blobs = [], []
        async with self.db.reader() as conn:
            for start in range(0, len(rowids), LOOKUP):
                wanted = rowids[start : start + LOOKUP]
                marks = ",".join("?" * len(wanted))
                async with conn.execute(
                    "SELECT m.content, v.vector FROM memory_vectors v "
                    "JOIN memories m ON m.rowid = v.rowid "
                    f"WHERE v.rowid IN ({marks}) AND v.model = ?",
                    (*wanted, self.embedder.model.model_id),
                ) as cursor:
                    for content, blob in await cursor.fetchall():
                        texts.append(str(content or ""))
                        blobs.append(bytes(blob))
        dims = self.embedder.dimensions
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dims)
        return texts, vectors

    def status(self) -> str:
        """What `GET /api/semantic` says of it (`static_queries`)."""
        if self.state == "ready" and not self.in_use:
            return f"ready, used from {static.MIN_MAP_ROWS} memories"
        return "in use" if self.in_use else self.state


def _sample(index: VectorIndex | ApproxIndex) -> list[int]:
    """Up to static.FIT_SAMPLE indexed rowids, evenly spaced."""
    rowids = index.live() if isinstance(index, ApproxIndex) else index.snapshot().rowids
    step = max(1, -(-len(rowids) // static.FIT_SAMPLE))
    return [int(r) for r in np.sort(rowids)[::step]]
