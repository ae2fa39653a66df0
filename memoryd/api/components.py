"""What the lifespan opened and the handlers use, as one typed object: passed explicitly (the
lifespan state, `request.state.components`), never global."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

from memory_core.config import Settings
from memoryd.learn.queue import LearningQueue
from memoryd.sessions.inject import HookService
from memoryd.store.backend import MemoryBackend

if TYPE_CHECKING:
    # Types only: the semantic leg imports numpy and onnxruntime (only when it runs), and the
    # sync component imports this module for its handlers.
    from memoryd.curation import Curation
    from memoryd.semantic.component import SemanticOff
    from memoryd.semantic.leg import SemanticLeg
    from memoryd.sharing.forward import HubForwarder
    from memoryd.sync.component import SyncService
    from memoryd.viewer_component import ViewerComponent

# The handlers' store: the local SQLite store, or the hub itself in HTTP-only mode.
Backend = MemoryBackend


@dataclass(frozen=True)
class Components:
    settings: Settings
    store: Backend
    # On or off, it always answers /api/sync/status (off says why).
    sync: SyncService
    # None in HTTP-only mode (no local database): their endpoints answer 503.
    hooks: HookService | None = None
    learning: LearningQueue | None = None
    # The running leg, or why it is off; None in HTTP-only mode (no local store).
    semantic: SemanticLeg | SemanticOff | None = None
    # The viewer's curation data (journal, history, learn pause, daily counters); None in
    # HTTP-only mode.
    curation: Curation | None = None
    # The browser viewer, started on demand by POST /api/viewer; the lifespan stops it.
    viewer: ViewerComponent | None = None
    # The sharing routes' link to the hub; without a hub it answers 409 no_hub.
    sharing: HubForwarder | None = None


def components(request: Request) -> Components:
    found: Components = request.state.components
    return found
