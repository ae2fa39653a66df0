"""What the lifespan opens and the handlers use: passed explicitly, never global."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memory_core.config import Settings
from memoryd.store.backend import MemoryBackend

# The handlers' store: the local SQLite store, or the hub itself in HTTP-only mode.
Backend = MemoryBackend


@dataclass
class Services:
    settings: Settings
    store: Backend
    # Later subsystems (sync engine, learning queue, sessions) register themselves here.
    extras: dict[str, Any] = field(default_factory=dict)
