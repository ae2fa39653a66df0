"""Succession: a memory that replaces an older one names it (`supersedes`), and the newer one
wins. The older one stays for history: it is listed and exported, but recall ranks it below
its successor (bringing the successor in wherever the older one would have appeared) and the
hooks never inject it.

A memory is superseded while a live memory names it; deleting the successor (an undo) makes
the older one current again. Chains (A replaced by B, B by C) resolve to their live head.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import aiosqlite

from memory_core.errors import InvalidInput, NotFound
from memoryd.store.records import Recalled
from memoryd.store.rows import find_row

MAX_CHAIN = 8  # successors followed from one memory; a longer chain (or a cycle) stops here
# By relevance, a superseded memory keeps at most this share of its successor's score: still
# there for "what did we use before?", never level with what replaced it.
SUPERSEDED_SHARE = 0.5


async def check_target(conn: aiosqlite.Connection, memory_id: str) -> str:
    """The full id of the live memory that a new one `supersedes`; InvalidInput (a 422) when
    it names no memory, a deleted one, or an ambiguous prefix."""
    try:
        row = await find_row(conn, memory_id)
    except NotFound:
        raise InvalidInput(
            f"supersedes: no memory with id {memory_id!r}; nothing was stored"
        ) from None
    except InvalidInput as exc:
        raise InvalidInput(f"supersedes: {exc.message}; nothing was stored") from None
    if row["deleted_ms"] is not None:
        raise InvalidInput(
            f"supersedes: memory {row['id']} was deleted, so there is nothing to replace; "
            "nothing was stored"
        )
    return str(row["id"])


async def live_target(conn: aiosqlite.Connection, memory_id: str) -> str | None:
    """`check_target`, or None where it would refuse (an import keeps what it can)."""
    try:
        return await check_target(conn, memory_id)
    except InvalidInput:
        return None


async def successors(conn: aiosqlite.Connection, ids: Iterable[str]) -> dict[str, str]:
    """For each of `ids` that a live memory supersedes: the id of the live head of its chain
    of successors (the newest created, when two replaced the same memory)."""
    heads: dict[str, str] = {}
    # (memory to follow, the id it stands for): each memory names one predecessor, so two
    # chains never meet; a cycle (only concurrent edits on two replicas could make one) is cut
    # where it comes back to its start, and any chain after MAX_CHAIN steps.
    frontier = [(i, i) for i in dict.fromkeys(ids)]
    for _ in range(MAX_CHAIN):
        if not frontier:
            break
        marks = ", ".join("?" * len(frontier))
        rows = await conn.execute_fetchall(
            f"SELECT supersedes, id FROM memories WHERE supersedes IN ({marks}) "
            "AND deleted_ms IS NULL ORDER BY created_ms, rowid",
            tuple(node for node, _ in frontier),
        )
        newest = {str(old): str(new) for old, new in rows}  # later rows overwrite earlier
        frontier = [
            (newest[node], origin)
            for node, origin in frontier
            if node in newest and newest[node] != origin
        ]
        for node, origin in frontier:
            heads[origin] = node
    return heads


def rank(recalled: list[Recalled], heads: dict[str, str], relevance: bool) -> list[Recalled]:
    """`recalled` (ordered) with each superseded memory marked (`superseded_by`) and below its
    successor, `heads` being `successors` of their ids. By relevance the successor takes on
    the older memory's score and evidence where those are stronger: the newer one is found
    wherever the older one would have been. In other orders the older one moves to just
    after its successor. A successor that the query's filters left out changes nothing but
    the mark."""
    if not heads:
        return recalled
    by_id = {r.memory.id: r for r in recalled}
    marked = {
        old: dataclasses.replace(
            by_id[old],
            evidence=dataclasses.replace(by_id[old].evidence, superseded_by=head),
        )
        for old, head in heads.items()
        if old in by_id
    }
    if relevance:
        lifted = {head: by_id[head] for head in heads.values() if head in by_id}
        for old, head in heads.items():
            if head in lifted and old in by_id:
                top, before = lifted[head], by_id[old]
                lifted[head] = Recalled(
                    top.memory, max(top.score, before.score), top.evidence.joined(before.evidence)
                )
        for old, head in heads.items():
            if head in lifted and old in marked:
                cap = lifted[head].score * SUPERSEDED_SHARE
                marked[old] = dataclasses.replace(marked[old], score=min(marked[old].score, cap))
        changed = {**lifted, **marked}
        out = [changed.get(r.memory.id, r) for r in recalled]
        out.sort(key=lambda r: r.score, reverse=True)
        return out
    below: dict[str, list[Recalled]] = {}
    for r in recalled:
        successor = heads.get(r.memory.id)
        if successor is not None and successor in by_id:
            below.setdefault(successor, []).append(marked[r.memory.id])
    moved = {r.memory.id for group in below.values() for r in group}
    out = []
    for r in recalled:  # in order: each group of older memories is already in order too
        if r.memory.id not in moved:
            out.append(marked.get(r.memory.id, r))
            out.extend(below.get(r.memory.id, []))
    return out
