"""Typed links between two memories of one user: the rules both stores share.

A link goes from a memory (`src`) to another (`dst`) and has one of four types, the original
project's:

    part-of      src is a part (a detail) of dst
    supersedes   src replaces dst: dst is kept for history, never recalled above src
    see-also     src and dst are related
    resolved-by  src (a problem) was resolved by dst

`supersedes` is the memory's own `supersedes` field (memory_core.model.Memory.supersedes,
which recall already honours), so a memory supersedes at most one other. The other three live
in the memory's `links` field: a sorted list of `[type, dst]` pairs, one last-writer-wins
register replicated like `tags` (see docs/sync.md). A link to a memory deleted later stays in
the list and is not shown; following links stops at deleted memories.

Cycles of `supersedes` (A replaces B replaces A) and of `part-of` (A in B in A) are refused:
`reaches` walks from the new link's target along links of its type and refuses when it comes
back to the source.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from memory_core.errors import InvalidInput

LINK_TYPES = ("part-of", "supersedes", "see-also", "resolved-by")
SUPERSEDES = "supersedes"
# The types kept in the `links` field (`supersedes` has its own).
LISTED_TYPES = tuple(t for t in LINK_TYPES if t != SUPERSEDES)
# The types whose cycles are refused.
ACYCLIC_TYPES = (SUPERSEDES, "part-of")
MAX_LINKS = 64  # links out of one memory (the `links` field), so a memory's op stays small
# How many memories a cycle check visits at most: a longer walk is refused as if it were a
# cycle (no honest chain of replacements or parts is that long).
MAX_WALK = 1000

Links = list[list[str]]
# The memories that the given memories link to by one type (live ones only).
Step = Callable[[list[str]], Awaitable[Iterable[str]]]


def check_type(value: object) -> str:
    """A link type, as typed: case and surrounding blanks do not matter, `_` may stand for
    `-`. Anything else is a 422 naming the four."""
    text = value.strip().lower().replace("_", "-") if isinstance(value, str) else ""
    if text not in LINK_TYPES:
        shown = repr(value)[:40]
        raise InvalidInput(f"unknown link type {shown}; use one of: {', '.join(LINK_TYPES)}")
    return text


def check_stored(value: Any, is_memory_id: Callable[[object], bool]) -> Links:
    """Another replica's `links` value, held to what a local write leaves: a sorted list of
    distinct `[type, id]` pairs of the listed types. Refused, not repaired: every store must
    join the very value the op carries."""
    if not isinstance(value, list):
        raise InvalidInput("links must be a list of [type, id] pairs")
    for item in value:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or item[0] not in LISTED_TYPES
            or not is_memory_id(item[1])
        ):
            raise InvalidInput("links must be a list of [type, id] pairs of known types")
    if len(value) > MAX_LINKS:
        raise InvalidInput(f"at most {MAX_LINKS} links from one memory")
    pairs = [(kind, dst) for kind, dst in value]
    if pairs != sorted(set(pairs)):
        raise InvalidInput("links must be sorted and without repeats")
    return [[kind, dst] for kind, dst in pairs]


def with_link(links: Links, link_type: str, dst: str) -> Links:
    if len(links) >= MAX_LINKS:
        raise InvalidInput(f"a memory links to at most {MAX_LINKS} others; remove one first")
    return sorted([*links, [link_type, dst]])


def without_link(links: Links, link_type: str, dst: str) -> Links:
    return [pair for pair in links if pair != [link_type, dst]]


def targets(links: Links, link_type: str) -> list[str]:
    return [dst for kind, dst in links if kind == link_type]


async def reaches(start: str, goal: str, step: Step) -> bool:
    """Whether following links (`step`) from `start` comes to `goal`; a walk longer than
    MAX_WALK memories counts as reaching it."""
    seen, frontier = {start}, [start]
    while frontier:
        if goal in frontier:
            return True
        found = [node for node in await step(frontier) if node not in seen]
        seen.update(found)
        if len(seen) > MAX_WALK:
            return True
        frontier = list(dict.fromkeys(found))
    return False


async def refuse_cycle(src: str, link_type: str, dst: str, step: Step) -> None:
    """InvalidInput (422) when linking `src` to `dst` by `link_type` would close a cycle
    (`step` follows existing links of that type), or when the link is a memory to itself."""
    if src == dst:
        raise InvalidInput(f"a memory cannot link to itself ({link_type} {dst})")
    if link_type in ACYCLIC_TYPES and await reaches(dst, src, step):
        raise InvalidInput(
            f"{link_type} cycle: memory {dst} already (transitively) {link_type} memory {src}; "
            "nothing was linked"
        )


def shown(links: Links, supersedes: str | None, live: set[str]) -> list[dict[str, str]]:
    """A memory's outgoing links as answers show them, `{"id", "type"}`, only to live
    memories (`live`)."""
    pairs = [(SUPERSEDES, supersedes)] if supersedes is not None else []
    pairs += [(kind, dst) for kind, dst in links]
    return [{"id": dst, "type": kind} for kind, dst in sorted(pairs) if dst in live]


def check_listed(value: object, is_memory_id: Callable[[object], bool]) -> list[tuple[str, str]]:
    """The `links` of an export line, `[{"id", "type"}…]` as answers show them, as
    `(type, id)` pairs; a `supersedes` entry is left out (the line's own `supersedes` field
    carries it)."""
    if not isinstance(value, list) or len(value) > MAX_LINKS + 1:
        raise InvalidInput(f"links must be a list of at most {MAX_LINKS} {{id, type}} objects")
    pairs = []
    for item in value:
        if not isinstance(item, dict) or not is_memory_id(item.get("id")):
            raise InvalidInput('links must be {"id": <memory id>, "type": <link type>} objects')
        kind = check_type(item.get("type"))
        if kind != SUPERSEDES:
            pairs.append((kind, str(item["id"]).lower()))
    return pairs
