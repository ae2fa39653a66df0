"""Starts the semantic leg inside the daemon's lifespan, when installed and wanted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from memoryd import semantic
from memoryd.store.memories import MemoryStore

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def semantic_runtime(
    store: MemoryStore, enabled: bool, cache_dir: Path
) -> AsyncIterator[dict[str, Any]]:
    """Yields the services extras to register: {"semantic": SemanticLeg} when on, else {}.
    Off (`enabled` is `Settings.semantic`), nothing of the extra is imported and recall is
    purely lexical. `cache_dir` keeps the int8 query model (quantize.py)."""
    if not semantic.wanted(enabled):
        yield {}
        return
    # numpy's BLAS threads would spin after each index search, burning the CPU that recall
    # and the embedder need; the search is one small matrix-vector product anyway. Only takes
    # effect if numpy was not imported before (it is not, in the daemon).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        from memoryd.semantic.embedder import Embedder
        from memoryd.semantic.leg import SemanticLeg

        embedder = await asyncio.to_thread(Embedder)
    except Exception:  # a broken install must not take lexical recall down with it
        log.exception("semantic leg unavailable; recall stays lexical")
        yield {}
        return
    leg = SemanticLeg(store.db, embedder)
    await leg.load()
    tasks = [
        asyncio.create_task(leg.run(), name="semantic-indexer"),
        asyncio.create_task(leg.quantize_queries(cache_dir), name="semantic-query-model"),
    ]
    store.semantic = leg
    try:
        yield {"semantic": leg}
    finally:
        store.semantic = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
