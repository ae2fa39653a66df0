"""What a sync round reports, what it stops on, and what it pushes: plain records."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Queued:
    """An op waiting in the outbox, with the header fields the round reacts to."""

    op_id: str
    entity_id: str
    hlc: int
    envelope: str  # the op, encoded as a push carries it


class SyncStopped(Exception):
    """The round could not go on for a reason retrying soon will not fix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class RoundResult:
    pushed: int = 0
    duplicates: int = 0
    obsolete: int = 0
    parked: int = 0
    pulled: int = 0
    applied: int = 0
    quarantined: int = 0
    ok: bool = True
    error_code: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Status:
    replica_id: str
    cursor: int
    queue_depth: int  # ops waiting in the outbox, parked ones aside
    parked: int
    quarantined: int
    last_push_ms: int | None
    last_pull_ms: int | None
    last_error: str | None
    server_offset_ms: int | None
    parked_errors: list[str] = field(default_factory=list)
