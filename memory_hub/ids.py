"""A memory's two names on the hub: its UUID (the `id` column, what replicas and the op log use)
and its short per-user integer (the `num` column, what the original project's clients show and
send). Every route that takes a memory id in its path accepts either, through this resolver."""

from __future__ import annotations

import asyncpg

from memory_core.errors import MalformedId, NotFound
from memory_core.model import is_id

# The largest integer id PostgreSQL's bigint holds; a longer number names no memory.
MAX_NUM = (1 << 63) - 1


def parse_num(raw: str) -> int | None:
    """`raw` as an integer id (ASCII digits only, within bigint), or None when it is not one.
    A UUID always holds a letter or a dash, so the two forms never overlap."""
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= MAX_NUM else None


async def resolve_memory_id(
    conn: asyncpg.Connection, user_id: str, raw: str, *, include_deleted: bool = False
) -> str:
    """The UUID of `user_id`'s memory named `raw` (its integer id or its full UUID).

    Raises NotFound (404) when `raw` names no memory of this user (another user's memory is "not
    found" too, never "forbidden"), or a deleted one unless `include_deleted` (a delete answers
    "already deleted"); its subclass MalformedId (422) when `raw` has neither form (`-1`, `x!`,
    10,000 characters). An integer beyond bigint, or a UUID-shaped text no memory has, is 404."""
    text = raw.strip().lower()
    num = parse_num(text)
    if num is not None:
        row = await conn.fetchrow(
            "SELECT id, deleted_ms FROM memories WHERE user_id = $1 AND num = $2", user_id, num
        )
    elif is_id(text):
        row = await conn.fetchrow(
            "SELECT id, deleted_ms FROM memories WHERE user_id = $1 AND id = $2", user_id, text
        )
    elif text.isascii() and text.isdigit():
        row = None  # an integer too large for any id
    else:
        raise MalformedId(f"{raw[:64]!r} is not a memory id: send its integer id or its UUID")
    if row is None or (row["deleted_ms"] is not None and not include_deleted):
        raise NotFound(f"no memory with id {raw[:64]!r}")
    return str(row["id"])


async def reserve_numbers(conn: asyncpg.Connection, user_id: str, wanted: dict[str, int]) -> int:
    """Before an import's write: its fresh integer ids start above every number it will adopt
    (adopt_numbers), so a memory imported without one never takes one another imported memory
    had in the source database. Returns the user's last number before, for adopt_numbers."""
    if not wanted:
        return 0
    before = await conn.fetchval(
        "SELECT next_num FROM hub_users WHERE user_id = $1 FOR UPDATE", user_id
    )
    await conn.execute(
        "INSERT INTO hub_users (user_id, next_num) VALUES ($1, $2) ON CONFLICT (user_id) "
        "DO UPDATE SET next_num = GREATEST(hub_users.next_num, EXCLUDED.next_num)",
        user_id,
        max(wanted.values()),
    )
    return int(before or 0)


async def adopt_numbers(
    conn: asyncpg.Connection, user_id: str, wanted: dict[str, int], last_before: int = 0
) -> None:
    """Give just-imported memories (UUID → integer) the integer ids they had in the original
    project's database, so its clients' `server_id`s keep naming the same memories. A number
    another memory of the user already holds is not taken: that memory keeps the number it was
    given. Runs in the import's transaction, under the user's row lock."""
    if not wanted:
        return
    entities = list(wanted)
    # Park their fresh numbers below zero, so that they free the numbers they were given.
    await conn.execute(
        "UPDATE memories SET num = -num WHERE user_id = $1 AND id = ANY($2::text[])",
        user_id,
        entities,
    )
    rows = await conn.fetch(
        "SELECT num FROM memories WHERE user_id = $1 AND num = ANY($2::bigint[])",
        user_id,
        list(wanted.values()),
    )
    taken = {row["num"] for row in rows}
    adopted: list[tuple[str, str, int]] = []
    for entity, num in wanted.items():
        if num not in taken:
            taken.add(num)
            adopted.append((user_id, entity, num))
    await conn.executemany("UPDATE memories SET num = $3 WHERE user_id = $1 AND id = $2", adopted)
    await conn.execute(
        "UPDATE memories SET num = -num WHERE user_id = $1 AND id = ANY($2::text[]) AND num < 0",
        user_id,
        entities,
    )
    # The numbers reserve_numbers skipped and no memory kept are handed out again.
    await conn.execute(
        "UPDATE hub_users SET next_num = GREATEST($2::bigint, (SELECT max(num) FROM memories "
        "WHERE user_id = $1)) WHERE user_id = $1",
        user_id,
        last_before,
    )
