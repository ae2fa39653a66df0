"""What the lifespan opens and the handlers use: passed explicitly, never global."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memoryd.config import Settings
from memoryd.store.memories import MemoryStore


@dataclass
class Services:
    settings: Settings
    store: MemoryStore
    # Later subsystems (sync engine, learning queue, sessions) register themselves here.
    extras: dict[str, Any] = field(default_factory=dict)
