"""Which memories a user's list and recall see: their own, and those other users shared with
them (memory_hub.sharing), each of the latter marked with its owner.

A user nobody shares with gets the plain `user_id = $n` scope, so the queries of the many users
without shares keep their one-user index plans; only a recipient's queries look further.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from memory_core.model import SENSITIVE_PLACEHOLDER


def shared_rows(alias: str, user: str) -> str:
    """SQL true for a row of `alias` (a memories row) that another user shares with the user in
    parameter `user`: by its id, or by one of its tags."""
    return (
        f"(EXISTS (SELECT 1 FROM memory_shares s WHERE s.owner_id = {alias}.user_id "
        f"AND s.memory_id = {alias}.id AND s.shared_with = {user}) "
        f"OR EXISTS (SELECT 1 FROM tag_shares t WHERE t.owner_id = {alias}.user_id "
        f"AND t.tag = ANY ({alias}.tags) AND t.shared_with = {user}))"
    )


def visible(alias: str, user: str, shared: bool) -> str:
    """SQL true for the rows of `alias` the user in parameter `user` reads: their own, and with
    `shared` also those shared with them (owners named first, so an index on user_id serves)."""
    own = f"{alias}.user_id = {user}"
    if not shared:
        return own
    owners = (
        f"SELECT owner_id FROM memory_shares WHERE shared_with = {user} "
        f"UNION SELECT owner_id FROM tag_shares WHERE shared_with = {user}"
    )
    return f"({own} OR ({alias}.user_id IN ({owners}) AND {shared_rows(alias, user)}))"


async def has_incoming(conn: asyncpg.Connection, user: str) -> bool:
    """Whether any other user shares anything with `user`."""
    found = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM memory_shares WHERE shared_with = $1) "
        "OR EXISTS (SELECT 1 FROM tag_shares WHERE shared_with = $1)",
        user,
    )
    return bool(found)


def marked(item: dict[str, Any], owner: str, user: str) -> dict[str, Any]:
    """A memory (memory_hub.memories.Hub.out) as the user sees it: another user's carries
    `owner` and, as the original names it, `shared_by`."""
    if owner != user:
        item["owner"] = owner
        item["shared_by"] = owner
        if item.get("is_sensitive"):  # named by the UUID the recipient's secret_get takes
            item["content"] = SENSITIVE_PLACEHOLDER.format(id=item["id"])
    return item
