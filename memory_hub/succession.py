"""Succession on the hub: a user's live memories that supersede others, and the recall
candidates that stand for them, so that hub recall ranks a superseded memory below its
successor as the daemon does (the walk and the placing are memory_core.recall.succession's)."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from memory_core.recall.succession import heads


async def successors(conn: asyncpg.Connection, user: str, ids: Iterable[str]) -> dict[str, str]:
    """For each of `ids` that a live memory of `user` supersedes: the id of the live head of
    its chain of successors."""

    async def lookup(frontier: list[str]) -> list[tuple[str, str]]:
        rows = await conn.fetch(
            "SELECT supersedes, id FROM memories WHERE user_id = $1 "
            "AND supersedes = ANY($2::text[]) AND deleted_ms IS NULL ORDER BY created_ms, id",
            user,
            frontier,
        )
        return [(str(r["supersedes"]), str(r["id"])) for r in rows]

    return await heads(ids, lookup)
