"""Succession: a memory that replaces an older one names it (`supersedes`), and the newer one
wins. The older one stays for history: it is listed and exported, but recall ranks it below
its successor (bringing the successor in wherever the older one would have appeared) and the
hooks never inject it.

A memory is superseded while a live memory names it; deleting the successor (an undo) makes
the older one current again. Chains (A replaced by B, B by C) resolve to their live head.
"""

from __future__ import annotations

from collections.abc import Iterable

import aiosqlite

from memory_core.errors import InvalidInput, NotFound
from memory_core.recall.succession import Ranked, heads, rank
from memoryd.store.rows import find_row

__all__ = ["Ranked", "check_target", "live_target", "rank", "successors", "successors_sql"]


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


def successors_sql(count: int) -> str:
    """The live memories that supersede any of `count` ids, oldest first. `+deleted_ms`:
    without statistics (before the first PRAGMA optimize) SQLite would walk the live-rows
    index, every live memory, instead of this column's: 3 ms against 0.03 at 10k memories,
    on every recall (measured)."""
    marks = ", ".join("?" * count)
    return (
        f"SELECT supersedes, id FROM memories WHERE supersedes IN ({marks}) "
        "AND +deleted_ms IS NULL ORDER BY created_ms, rowid"
    )


async def successors(conn: aiosqlite.Connection, ids: Iterable[str]) -> dict[str, str]:
    """For each of `ids` that a live memory supersedes: the id of the live head of its chain
    of successors (memory_core.recall.succession.heads over this store's rows)."""

    async def lookup(frontier: list[str]) -> list[tuple[str, str]]:
        rows = await conn.execute_fetchall(successors_sql(len(frontier)), tuple(frontier))
        return [(str(old), str(new)) for old, new in rows]

    return await heads(ids, lookup)
