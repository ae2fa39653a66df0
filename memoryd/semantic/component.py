"""The semantic leg as a component of the daemon: its part of the lifespan (started unless
turned off or unusable) and its endpoints, GET /api/semantic and POST /api/semantic/reindex,
served whether or not the leg is on.

Nothing of onnxruntime or numpy is imported unless the leg starts: its types are imported for
mypy only. When it does not start, `SemanticOff` says why (the endpoints and `memory status`
show it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memory_core.errors import Conflict
from memory_core.http.routing import endpoint
from memoryd import semantic
from memoryd.api.components import components
from memoryd.semantic.model import ModelUnavailable, resolve
from memoryd.store.db import Database
from memoryd.tasks import cancel_and_wait

if TYPE_CHECKING:
    from memoryd.semantic.embedder import Embedder
    from memoryd.semantic.leg import SemanticLeg

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SemanticOff:
    """Why recall is lexical only: what `GET /api/semantic` and `memory status` report."""

    installed: bool  # the runtime packages are importable
    reason: str

    def status(self) -> dict[str, Any]:
        return {
            "enabled": False,
            "installed": self.installed,
            "reason": self.reason,
            "indexed": 0,
            "pending": 0,
        }


def running(state: SemanticLeg | SemanticOff) -> SemanticLeg | None:
    """The leg if it runs (what the store's recall fuses with), else None."""
    return None if isinstance(state, SemanticOff) else state


def _checked_embedder(model_dir: Path | None) -> Embedder:
    """The embedder for the configured model, once its file passed its digest check (and, for
    a user's model, was seen to load and give a usable vector). Blocking; raises
    ModelUnavailable."""
    spec = resolve(model_dir)
    if spec.dimensions is not None:
        # The packaged model: a file with the pinned digest is the model measured, so the
        # check is the digest alone (30 ms), before onnxruntime is even imported.
        spec.read()
    from memoryd.semantic.embedder import Embedder

    embedder = Embedder(model=spec)
    if spec.dimensions is None:
        embedder.check()
    return embedder


@contextlib.asynccontextmanager
async def semantic_leg(
    db: Database,
    enabled: bool,
    cache_dir: Path,
    model_dir: Path | None = None,
    approx_min: int | None = None,
    static_queries: bool = True,
) -> AsyncIterator[SemanticLeg | SemanticOff]:
    """The running leg (indexing `db` in the background), or why it is off: then recall is
    purely lexical. `enabled` is `Settings.semantic`; the packages or the model being
    unusable also turn it off, with one warning in the log. `model_dir` is
    MEMORY_EMBED_MODEL (None: the packaged model); `cache_dir` keeps the int8 query model
    (quantize.py) and the static query table (static.py); `approx_min` is
    MEMORY_SEMANTIC_APPROX_MIN (keeper.py; None: its default); `static_queries` is
    MEMORY_SEMANTIC_STATIC_QUERY (off: every query runs the model)."""
    if not enabled:
        yield SemanticOff(semantic.installed(), "MEMORY_SEMANTIC=0")
        return
    if not semantic.installed():
        reason = f"{', '.join(semantic.RUNTIME_PACKAGES)} not all installed; reinstall memoryd"
        log.warning("semantic recall off, recall stays lexical: %s", reason)
        yield SemanticOff(False, reason)
        return
    # numpy's BLAS threads would spin after each index search, burning the CPU that recall
    # and the embedder need; the search is one small matrix-vector product anyway. Only takes
    # effect if numpy was not imported before (it is not, in the daemon).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        embedder = await asyncio.to_thread(_checked_embedder, model_dir)
    except ModelUnavailable as exc:  # missing, altered, truncated, not a model
        log.warning("semantic recall off, recall stays lexical: %s", exc)
        yield SemanticOff(True, str(exc))
        return
    except Exception as exc:  # a broken install must not take lexical recall down with it
        log.exception("semantic leg unavailable; recall stays lexical")
        yield SemanticOff(True, f"the semantic leg failed to start: {exc}")
        return
    from memoryd.semantic.leg import SemanticLeg

    leg = (
        SemanticLeg(db, embedder, static_queries=static_queries)
        if approx_min is None
        else SemanticLeg(db, embedder, approx_min=approx_min, static_queries=static_queries)
    )
    await leg.load()
    tasks = [
        asyncio.create_task(leg.run(), name="semantic-indexer"),
        asyncio.create_task(leg.query_embeddings(cache_dir), name="semantic-query-model"),
    ]
    try:
        yield leg
    finally:
        for task in tasks:
            await cancel_and_wait(task)


def _off(request: Request) -> SemanticOff | None:
    state = components(request).semantic
    if state is None:  # no local store (HTTP-only mode)
        return SemanticOff(semantic.installed(), "no local store (HTTP-only mode)")
    return state if isinstance(state, SemanticOff) else None


async def semantic_status(request: Request) -> Response:
    """State of the semantic leg: on (model, vectors indexed and still pending) or off, and
    why."""
    off = _off(request)
    if off is not None:
        return JSONResponse(off.status())
    leg = components(request).semantic
    assert leg is not None and not isinstance(leg, SemanticOff)
    return JSONResponse(await leg.status())


async def semantic_reindex(request: Request) -> Response:
    """Drop every stored vector so the daemon embeds the whole store again."""
    off = _off(request)
    if off is not None:
        raise Conflict(f"the semantic leg is off ({off.reason}): fix that, then restart memoryd")
    leg = components(request).semantic
    assert leg is not None and not isinstance(leg, SemanticOff)
    dropped = await leg.reindex()
    return JSONResponse({"dropped": dropped, **(await leg.status())})


ENDPOINTS = (
    endpoint("GET", "/api/semantic", semantic_status),
    endpoint("POST", "/api/semantic/reindex", semantic_reindex),
)
