"""Succession, the part every store shares: a memory that replaces an older one names it
(`supersedes`) and the newer one wins. Walking from superseded memories to the live head of
their chain (`heads`, over whatever lookup the store has) and placing recall candidates so that
no superseded memory ranks above its successor (`rank`) are the same on the daemon (SQLite) and
on the hub (PostgreSQL).

A memory is superseded while a live memory names it; deleting the successor (an undo) makes
the older one current again. Chains (A replaced by B, B by C) resolve to their live head.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

MAX_CHAIN = 8  # successors followed from one memory; a longer chain (or a cycle) stops here
# By relevance, a superseded memory keeps at most this share of its successor's score: still
# there for "what did we use before?", never level with what replaced it.
SUPERSEDED_SHARE = 0.5

# The live memories superseding any of the ids given, as (older id, newer id) pairs, oldest
# newer memory first: the store's own lookup.
SuccessorLookup = Callable[[list[str]], Awaitable[Iterable[tuple[str, str]]]]


async def heads(ids: Iterable[str], lookup: SuccessorLookup) -> dict[str, str]:
    """For each of `ids` that a live memory supersedes: the id of the live head of its chain
    of successors (the newest created, when two replaced the same memory)."""
    found: dict[str, str] = {}
    # (memory to follow, the id it stands for): each memory names one predecessor, so two
    # chains never meet; a cycle (only concurrent edits on two replicas could make one) is cut
    # where it comes back to its start, and any chain after MAX_CHAIN steps.
    frontier = [(i, i) for i in dict.fromkeys(ids)]
    for _ in range(MAX_CHAIN):
        if not frontier:
            break
        pairs = await lookup([node for node, _ in frontier])
        newest = {str(old): str(new) for old, new in pairs}  # later pairs overwrite earlier
        frontier = [
            (newest[node], origin)
            for node, origin in frontier
            if node in newest and newest[node] != origin
        ]
        for node, origin in frontier:
            found[origin] = node
    return found


@dataclass(frozen=True)
class Ranked:
    """A recall candidate, placed: its id, its score after succession, what replaced it, and
    which older memories it stands in for (by relevance, it took on their score)."""

    id: str
    score: float
    superseded_by: str | None = None
    stands_for: tuple[str, ...] = ()


def rank(scored: list[tuple[str, float]], heads: dict[str, str], relevance: bool) -> list[Ranked]:
    """`scored` (id, score), in order, with each superseded memory marked and below its
    successor, `heads` being `successors` of their ids. By relevance the successor takes on
    the older memory's score where it is higher (the newer one is found wherever the older one
    would have been), and the older one keeps at most SUPERSEDED_SHARE of it. In other orders
    the older one moves to just after its successor. A successor that the query's filters left
    out changes nothing but the mark."""
    out = [Ranked(i, s, heads.get(i)) for i, s in scored]
    if not heads:
        return out
    by_id = {r.id: r for r in out}
    if relevance:
        for old, head in heads.items():
            if head in by_id and old in by_id:
                top, before = by_id[head], by_id[old]
                by_id[head] = Ranked(
                    head, max(top.score, before.score), None, (*top.stands_for, old)
                )
        for old, head in heads.items():
            if head in by_id and old in by_id:
                cap = by_id[head].score * SUPERSEDED_SHARE
                by_id[old] = dataclasses.replace(by_id[old], score=min(by_id[old].score, cap))
        out = [by_id[r.id] for r in out]
        out.sort(key=lambda r: r.score, reverse=True)
        return out
    below: dict[str, list[Ranked]] = {}
    for r in out:
        if r.superseded_by is not None and r.superseded_by in by_id:
            below.setdefault(r.superseded_by, []).append(r)
    moved = {r.id for group in below.values() for r in group}
    placed = []
    for r in out:  # in order: each group of older memories is already in order too
        if r.id not in moved:
            placed.append(r)
            placed.extend(below.get(r.id, []))
    return placed
