"""The values the store takes and returns, shared by the local store, the hub-backed
`RemoteStore` and sync (which persists each `Change`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import aiosqlite

from memory_core.model import Memory

ChangeKind = Literal["put", "del"]


@dataclass(frozen=True)
class Change:
    """What one write did to one memory, as sync needs it. `fields` holds plaintext values
    (sensitive content included): whoever persists a Change must encrypt what is sensitive."""

    entity_id: str
    kind: ChangeKind
    hlc: int
    fields: dict[str, Any]
    # The replica that made it, for a change pulled from the hub (the memory's history).
    replica: str | None = None


# Called inside the write's transaction, so that state, clock and outbox never disagree.
ChangeSink = Callable[[aiosqlite.Connection, Change], Awaitable[None]]


@dataclass
class NewMemory:
    content: str
    category: str = "facts"
    tags: list[str] | str | None = None
    expanded_keywords: str = ""
    importance: float = 0.5
    force_sensitive: bool = False
    project: str | None = None
    source: str = "manual"
    # The id (or a unique prefix) of the older memory this one replaces.
    supersedes: str | None = None
    # Import only: keep the identity, history and links of an exported memory.
    id: str | None = None
    links: list[Any] | None = None
    created_ms: int | None = None
    updated_ms: int | None = None


@dataclass
class Patch:
    content: str | None = None
    category: str | None = None
    tags: list[str] | str | None = None
    expanded_keywords: str | None = None
    importance: float | None = None
    project: str | None = None
    clear_project: bool = False
    # Who asks, for the memory's history ("viewer"); None: a plain edit.
    origin: str | None = None


@dataclass
class RecallQuery:
    context: str
    expanded_query: str = ""
    category: str | None = None
    project: str | None = None
    sort_by: Literal["relevance", "importance", "recency"] = "relevance"
    limit: int = 10
    include_sensitive: bool = True
    # Embed the query with the semantic leg's static table once it has one (the prompt hook,
    # where the daemon's CPU per prompt binds); other recalls run the model (memoryd.semantic.
    # static: the table costs paraphrases some recall).
    static_query: bool = False
    # How many lexical candidates are rescored, and how many nearest memories the dense leg
    # adds; None: the defaults (ranking.POOL_MIN, POOL_FACTOR x limit; ranking.DENSE_POOL).
    # The prompt hook asks for fewer (memoryd.sessions.inject).
    candidates: int | None = None
    dense_candidates: int | None = None


@dataclass(frozen=True)
class Evidence:
    """What a recalled memory has in common with the query, beside its score: for callers that
    decide whether to show a memory at all (the prompt hook's relevance floor), where the score,
    relative to the query's best candidate, cannot say."""

    covered: float  # the weighted share of the query's own words (`context`) the memory holds
    matched: int  # how many distinct words of `context` it holds
    cosine: float | None  # its semantic similarity with the query; None: no vector, or no leg
    # How far that similarity stands out from the query's similarities with the whole store
    # (memory_core.recall.ranking.standout); None: no semantic leg, or too few memories.
    standout: float | None = None
    superseded_by: str | None = None  # the live memory that replaced it

    def joined(self, other: Evidence) -> Evidence:
        """The stronger evidence of two (a successor takes on the evidence of what it
        replaced, wherever the older memory would have been recalled)."""
        return Evidence(
            covered=max(self.covered, other.covered),
            matched=max(self.matched, other.matched),
            cosine=_larger(self.cosine, other.cosine),
            standout=_larger(self.standout, other.standout),
            superseded_by=self.superseded_by,
        )


def _larger(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass(frozen=True)
class Recalled:
    memory: Memory
    score: float
    evidence: Evidence


@dataclass
class Created:
    memory: Memory
    duplicate_of: str | None = None


@dataclass
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    existing: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Link:
    """A typed link (memory_core.links), by the full ids of its two memories."""

    src: str
    link_type: str
    dst: str


@dataclass(frozen=True)
class LinksOf:
    """A live memory's links: to the live memories it links to and from those linking to
    it, each `{"id", "type"}`."""

    id: str
    outgoing: list[dict[str, str]]
    incoming: list[dict[str, str]]
