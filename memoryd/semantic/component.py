"""The semantic leg as a component of the daemon: its part of the lifespan (started when the
extra is installed and wanted) and its endpoints, GET /api/semantic and POST
/api/semantic/reindex, served whether or not the leg is on.

Nothing of the extra is imported unless the leg starts: its types are imported for mypy only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memory_core.errors import Conflict
from memory_core.http.routing import endpoint
from memoryd import semantic
from memoryd.api.components import components
from memoryd.store.db import Database

if TYPE_CHECKING:
    from memoryd.semantic.leg import SemanticLeg

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def semantic_leg(
    db: Database, enabled: bool, cache_dir: Path
) -> AsyncIterator[SemanticLeg | None]:
    """The running leg (indexing `db` in the background), or None when off: then recall is
    purely lexical. `enabled` is `Settings.semantic`; `cache_dir` keeps the int8 query model
    (quantize.py)."""
    if not semantic.wanted(enabled):
        yield None
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
        yield None
        return
    leg = SemanticLeg(db, embedder)
    await leg.load()
    tasks = [
        asyncio.create_task(leg.run(), name="semantic-indexer"),
        asyncio.create_task(leg.quantize_queries(cache_dir), name="semantic-query-model"),
    ]
    try:
        yield leg
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def semantic_status(request: Request) -> Response:
    """State of the semantic leg: on or off, model, vectors indexed and still pending."""
    leg = components(request).semantic
    if leg is None:
        return JSONResponse(
            {"enabled": False, "installed": semantic.installed(), "indexed": 0, "pending": 0}
        )
    return JSONResponse(await leg.status())


async def semantic_reindex(request: Request) -> Response:
    """Drop every stored vector so the daemon embeds the whole store again."""
    leg = components(request).semantic
    if leg is None:
        raise Conflict(
            "the semantic leg is off: install memoryd[semantic] and unset MEMORY_SEMANTIC=0, "
            "then restart memoryd"
        )
    dropped = await leg.reindex()
    return JSONResponse({"dropped": dropped, **(await leg.status())})


ENDPOINTS = (
    endpoint("GET", "/api/semantic", semantic_status),
    endpoint("POST", "/api/semantic/reindex", semantic_reindex),
)
