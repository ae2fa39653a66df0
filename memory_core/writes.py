"""The one rule for writes: how a new memory and a patch are checked and normalised before the
daemon or the hub stores anything.

Both return the fields to write, keyed as the memory's synced fields. The sensitivity rule is
here too: a secret in the content, the tags or the keywords makes the memory sensitive (its
content is then sealed by whoever stores it), and a secret found in tags or keywords is
redacted there, since those are always indexed and never sealed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from memory_core.crypto.detect import contains_secret, redact
from memory_core.errors import InvalidInput
from memory_core.model import (
    check_content,
    check_importance,
    check_keywords,
    check_project,
    check_source,
    normalize_category,
    parse_tags,
)

NOTHING_TO_UPDATE = (
    "nothing to update: give content, category, tags, importance, expanded_keywords or project"
)


def _clean_metadata(tags: list[str], keywords: str) -> tuple[list[str], str, bool]:
    """Secrets never belong in indexed metadata: redact them there, and say so."""
    found = contains_secret(keywords) or any(contains_secret(t) for t in tags)
    if not found:
        return tags, keywords, False
    return [redact(t) for t in tags], redact(keywords), True


class NewMemoryFields(Protocol):
    """A new memory as a request gives it: the daemon's NewMemory, the REST MemoryIn. Typed
    as both declare them (a protocol's plain attributes must match exactly)."""

    content: str
    category: str
    tags: list[str] | str | None
    expanded_keywords: str
    importance: float
    force_sensitive: bool
    project: str | None

    @property  # read-only: MemoryIn narrows it to the sources it accepts
    def source(self) -> str: ...


def new_memory(
    new: NewMemoryFields, max_content_chars: int, *, sensitive: bool = False, source: str = ""
) -> dict[str, Any]:
    """Every field of a new memory, checked and normalised, `is_sensitive` decided. An import
    passes `sensitive` (an exported memory's flag) and `source` (the hub's "import")."""
    content = check_content(new.content, max_content_chars)
    tags, keywords, secret_in_metadata = _clean_metadata(
        parse_tags(new.tags), check_keywords(new.expanded_keywords)
    )
    return {
        "content": content,
        "category": normalize_category(new.category),
        "tags": tags,
        "expanded_keywords": keywords,
        "importance": check_importance(new.importance),
        "is_sensitive": (
            sensitive or new.force_sensitive or secret_in_metadata or contains_secret(content)
        ),
        "project": check_project(new.project),
        "source": check_source(source or new.source),
    }


class PatchFields(Protocol):
    """A patch as a request gives it (every field optional): the daemon's Patch, MemoryPatch."""

    content: str | None
    category: str | None
    tags: list[str] | str | None
    expanded_keywords: str | None
    importance: float | None
    project: str | None


def patch(given: PatchFields, max_content_chars: int, *, clear_project: bool) -> dict[str, Any]:
    """The fields a patch changes, checked and normalised. `is_sensitive: True` joins them
    when the patch brings a secret; it never turns sensitivity off."""
    changed: dict[str, Any] = {}
    if given.content is not None:
        changed["content"] = check_content(given.content, max_content_chars)
    if given.category is not None:
        changed["category"] = normalize_category(given.category)
    if given.tags is not None:
        changed["tags"] = parse_tags(given.tags)
    if given.expanded_keywords is not None:
        changed["expanded_keywords"] = check_keywords(given.expanded_keywords)
    if given.importance is not None:
        changed["importance"] = check_importance(given.importance)
    if given.project is not None or clear_project:
        changed["project"] = None if clear_project else check_project(given.project)
    if not changed:
        raise InvalidInput(NOTHING_TO_UPDATE)
    if "tags" in changed or "expanded_keywords" in changed:
        clean_tags, keywords, secret = _clean_metadata(
            changed.get("tags", []), changed.get("expanded_keywords", "")
        )
        if "tags" in changed:
            changed["tags"] = clean_tags
        if "expanded_keywords" in changed:
            changed["expanded_keywords"] = keywords
        if secret:
            changed["is_sensitive"] = True
    if "content" in changed and contains_secret(changed["content"]):
        changed["is_sensitive"] = True
    return changed


@contextmanager
def import_item(index: int) -> Iterator[None]:
    """Name the item an import error is about, keeping the error's code; the error body's
    `item` is its index, for clients that skip it and send the rest (memoryd.import_rows)."""
    try:
        yield
    except InvalidInput as exc:
        raise type(exc)(f"item {index}: {exc.message}", **{**exc.extra, "item": index}) from None
