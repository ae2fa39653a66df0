"""The original project's answer shapes on its REST routes, so that its clients (its stdio MCP
server in HTTP-only and hybrid mode, its sync engine, its web UI) read the hub as they read
their own server.

What they read: `id` is the memory's short integer id (memory_hub.ids), which they show as `#42`,
keep in their local `server_id` column and send back in paths; `tags` is the comma-joined text
they store in a TEXT column; `owner` names the memory's user. The memory's UUID, which memoryd
replicas and the op log use, travels beside it as `uuid`; memoryd's typed readers
(memory_core.wire.rest) take `uuid` as the id. memoryd's own sync routes (/api/sync/*) keep their
typed models.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from memory_hub.db import user_tx


def tags_text(tags: list[str]) -> str:
    """Tags as the original stores them: one comma-joined text (tags never hold a comma:
    memory_core.model.parse_tags splits on it)."""
    return ",".join(tags)


def memory(item: dict[str, Any], user: str) -> dict[str, Any]:
    """One memory (memory_hub.memories.Hub.out) as the original answers it. Another user's
    memory shared with `user` keeps its `owner` and is named by its UUID: integer ids are per
    user, so its owner's number would name one of `user`'s own memories (memory_hub.sharing)."""
    num = item.pop("num")
    owner = item.get("owner", user)
    shown = num if owner == user else item["id"]
    return {
        **item,
        "id": shown,
        "uuid": item["id"],
        "tags": tags_text(item["tags"]),
        "owner": owner,
    }


def stored(created: dict[str, Any]) -> dict[str, Any]:
    """The answer to a store, `{id, category, importance}` and ours beside them."""
    num = created.pop("num")
    return {**created, "id": num, "uuid": created["id"]}


def import_answer(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The original's import answer: a list of `{id, category, importance}`, one per row taken,
    in order, with ours (`uuid`, `is_sensitive`, `status`: imported, exists or duplicate, and
    `item`, the row's index in the request) beside them. Rows set aside are not in it: every
    entry keeps the shape the original's clients read (memory_hub.imports)."""
    return [stored(dict(result)) for result in results]


def import_report(results: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> dict[str, Any]:
    """The import answer as memoryd reads it (`?report=1`, memory_core.wire.rest.ImportOut):
    the counts, the original's entries, and the rows set aside with their reasons."""
    statuses = [result["status"] for result in results]
    return {
        "imported": statuses.count("imported"),
        "duplicates": statuses.count("duplicate"),
        "existing": statuses.count("exists"),
        "memories": import_answer(results),
        "rejected": rejected,
    }


async def categories(pool: asyncpg.Pool, user: str) -> dict[str, Any]:
    """GET /api/categories: the caller's categories in use, by name. The original counts every
    user's; the hub never reveals what other users store."""
    async with user_tx(pool, user) as conn:
        rows = await conn.fetch(
            "SELECT DISTINCT category FROM memories WHERE user_id = $1 AND deleted_ms IS NULL "
            "ORDER BY category",
            user,
        )
    return {"categories": [r["category"] for r in rows]}


async def tags(pool: asyncpg.Pool, user: str) -> dict[str, Any]:
    """GET /api/tags: the caller's tags with how many live memories carry each, the most used
    first (the original's shape; its counts span every user)."""
    async with user_tx(pool, user) as conn:
        rows = await conn.fetch(
            "SELECT t AS tag, count(*) AS count FROM memories, unnest(tags) AS t "
            "WHERE user_id = $1 AND deleted_ms IS NULL GROUP BY t ORDER BY count DESC, t",
            user,
        )
    return {"tags": [{"tag": r["tag"], "count": r["count"]} for r in rows]}
