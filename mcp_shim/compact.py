"""Recall's compact answer: per memory its id, a one-line preview, category, project, age and
score, so that a search costs a few tokens per hit; memory_get then fetches the full texts of
the ids the model picks. `detail: "full"` keeps the daemon's full shape (rest.RecallOut)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from memory_core.clock import ms_from_iso
from memory_core.wire import rest

PREVIEW_CHARS = 120


class CompactMemory(BaseModel):
    id: str
    # The daemon's short integer id, as typed back (`42`); absent where the store has none.
    num: int | None = Field(default=None, exclude_if=lambda value: value is None)
    preview: str  # the first line's worth of content, at most PREVIEW_CHARS characters
    category: str
    project: str | None
    age: str  # since the last change: "5m", "3h", "12d", "4mo", "2y"
    score: float
    # Whose memory it is when another user shared it (HTTP-only mode); absent for one's own.
    shared_by: str | None = Field(default=None, exclude_if=lambda value: value is None)


class RecallAnswer(BaseModel):
    """memory_recall's structured output: compact hits by default, full ones when asked."""

    memories: list[CompactMemory] | list[rest.ScoredMemoryOut]


def preview(content: str, limit: int = PREVIEW_CHARS) -> str:
    """The content on one line, cut at a word boundary to at most `limit` characters."""
    text = " ".join(content.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def age(then_ms: int, now_ms: int) -> str:
    minutes = max(0, now_ms - then_ms) // 60_000
    for unit, size in (("y", 525_600), ("mo", 43_200), ("d", 1_440), ("h", 60)):
        if minutes >= size:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def compact(out: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """The daemon's recall answer (rest.RecallOut as JSON) in its compact form."""
    return {
        "memories": [
            CompactMemory(
                id=memory["id"],
                num=memory.get("num"),
                preview=preview(str(memory["content"])),
                category=memory["category"],
                project=memory.get("project"),
                age=age(ms_from_iso(memory["updated_at"]), now_ms),
                score=round(float(memory["score"]), 3),
                shared_by=memory.get("shared_by"),
            ).model_dump()
            for memory in out["memories"]
        ]
    }
