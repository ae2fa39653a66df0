"""Reads: one memory (or its sealed text), a page of memories, the most important ones, and
what the SessionStart profile chooses from."""

from __future__ import annotations

from collections.abc import Sequence

from memory_core.crypto.aead import Cipher
from memory_core.errors import Conflict, InvalidInput, NotFound
from memory_core.model import Memory, normalize_category
from memory_core.wire.rest import ListQuery
from memoryd.store.db import Database
from memoryd.store.rows import COLUMNS, find_live, find_row, live, memory_from_row, open_sealed

# What the hooks may inject unasked: live, not sensitive, and current (no live memory
# replaced it), on a table aliased `m`.
_INJECTABLE = (
    "m.deleted_ms IS NULL AND m.is_sensitive = 0 AND NOT EXISTS (SELECT 1 FROM memories s "
    "WHERE s.supersedes = m.id AND +s.deleted_ms IS NULL)"
)
_M_COLUMNS = ", ".join("m." + c.strip() for c in COLUMNS.split(","))


async def get(db: Database, memory_id: str) -> Memory:
    async with db.reader() as conn:
        return await find_live(conn, memory_id)


async def get_many(db: Database, memory_ids: list[str]) -> tuple[list[Memory], list[str]]:
    """The live memories named, in the order asked and each once, and the ids naming none: an
    unknown, deleted or malformed id or an ambiguous prefix is reported, not raised, so the
    others still come back."""
    found: dict[str, Memory] = {}
    missing: list[str] = []
    async with db.reader() as conn:
        for memory_id in memory_ids:
            try:
                memory = await find_live(conn, memory_id)
            except (NotFound, InvalidInput):
                missing.append(memory_id)
                continue
            found.setdefault(memory.id, memory)
    return list(found.values()), missing


async def secret(db: Database, cipher: Cipher, memory_id: str) -> tuple[Memory, str]:
    """A live memory and its full text, a sensitive one's unsealed."""
    async with db.reader() as conn:
        row = await find_row(conn, memory_id)
    memory = live(memory_from_row(row))
    if not memory.is_sensitive:
        return memory, memory.content or ""
    if row["secret"] is None:
        # Stored over the hub's REST API: the hub sealed the text with its own key and
        # synced only the metadata, so no machine but the hub can read it.
        raise Conflict(
            f"memory {memory.id} is sensitive and its content is held only by the hub "
            f"(stored over its REST API); read it there: POST /api/memories/{memory.id}/secret"
        )
    return memory, open_sealed(cipher, memory.id, row["secret"])


async def page(db: Database, query: ListQuery) -> tuple[list[Memory], int]:
    """Live memories, most recently updated first, and how many match in all."""
    category, tag, project = query.category, query.tag, query.project
    where, args = ["deleted_ms IS NULL"], []
    if category:
        where.append("category = ?")
        args.append(normalize_category(category))
    if project:
        where.append("project = ?")
        args.append(project)
    if tag:
        where.append("EXISTS (SELECT 1 FROM json_each(memories.tags) WHERE value = ?)")
        args.append(tag.strip().lower())
    clause = " AND ".join(where)
    async with db.reader() as conn:
        async with conn.execute(
            f"SELECT {COLUMNS} FROM memories WHERE {clause} "
            "ORDER BY updated_ms DESC, rowid DESC LIMIT ? OFFSET ?",
            (*args, query.limit, query.offset),
        ) as cursor:
            rows = await cursor.fetchall()
        async with conn.execute(f"SELECT COUNT(*) FROM memories WHERE {clause}", args) as c:
            total_row = await c.fetchone()
    return [memory_from_row(r) for r in rows], int(total_row[0]) if total_row else 0


async def most_important(
    db: Database,
    project: str | None,
    limit: int,
    categories: Sequence[str] = (),
    with_global: bool = False,
) -> list[Memory]:
    """The live, non-sensitive, current memories of `project` (None: of no project), with the
    global ones (of no project) too if `with_global`, optionally only those in `categories`:
    `project`'s own first, then by importance, then by recency."""
    where = [_INJECTABLE]
    args: list[str | None] = []
    if categories:
        where.append(f"m.category IN ({', '.join('?' * len(categories))})")
        args.extend(categories)
    where.append("(m.project IS NULL OR m.project IS ?)" if with_global else "m.project IS ?")
    args.append(project)
    order, order_args = "m.importance DESC, m.updated_ms DESC", [project]
    if with_global:
        order = f"(m.project IS ?) DESC, {order}"
    else:
        # Every row is the project's: without the constant first key SQLite reads
        # `memories_standing` in this order and stops at the limit, where it sorted every
        # live memory of the project (0.1-0.2 s for a PreCompact at a million memories).
        # Ties oldest first, as that sort left them (it read the project's rows by rowid).
        order, order_args = f"{order}, m.rowid", []
    async with (
        db.reader() as conn,
        conn.execute(
            f"SELECT {_M_COLUMNS} FROM memories m WHERE {' AND '.join(where)} "
            f"ORDER BY {order} LIMIT ?",
            (*args, *order_args, limit),
        ) as cursor,
    ):
        return [memory_from_row(row) for row in await cursor.fetchall()]


# The profile's candidates: the most important injectable memories of no project, and those of
# the session's project, each read in order from `memories_standing` (migration 13) and cut at
# the limit, then merged. The same rows as one statement over `project IS NULL OR project IS
# ?`, which SQLite answered by sorting every live memory (0.1 s at 20k, seconds at 1M).
_STANDING_ORDER = "ORDER BY m.importance DESC, m.updated_ms DESC, m.rowid DESC"
_STANDING = (
    "WITH picked(rowid) AS ("
    f"SELECT * FROM (SELECT m.rowid FROM memories m WHERE {_INJECTABLE} AND m.project IS NULL "
    f"{_STANDING_ORDER} LIMIT :limit) UNION ALL "
    f"SELECT * FROM (SELECT m.rowid FROM memories m WHERE {_INJECTABLE} "
    f"AND m.project = :project {_STANDING_ORDER} LIMIT :limit)) "
    f"SELECT {_M_COLUMNS}, coalesce(u.recalled + u.injected, 0) AS uses "
    "FROM picked p JOIN memories m ON m.rowid = p.rowid "
    f"LEFT JOIN memory_usage u ON u.memory_id = m.id {_STANDING_ORDER} LIMIT :limit"
)
# Every project that has a live memory, one index seek each (a skip scan of memories_project):
# DISTINCT read the whole index, a row per memory.
PROJECTS = (
    "WITH RECURSIVE named(project) AS ("
    "SELECT (SELECT project FROM memories WHERE project IS NOT NULL AND +deleted_ms IS NULL "
    "ORDER BY project LIMIT 1) UNION ALL "
    "SELECT (SELECT project FROM memories WHERE project > named.project "
    "AND +deleted_ms IS NULL ORDER BY project LIMIT 1) FROM named "
    "WHERE named.project IS NOT NULL) "
    "SELECT project FROM named WHERE project IS NOT NULL"
)


async def standing(
    db: Database, project: str | None, limit: int
) -> tuple[list[tuple[Memory, int]], list[str]]:
    """What the SessionStart profile chooses from: the live, non-sensitive, current memories
    of `project` and of no project, the most important first, each with how often it was of
    use (memory_usage: recalled, or injected for a prompt); and every project the store
    knows (a global memory that names another project is less this one's business)."""
    async with db.reader() as conn:
        rows = await conn.execute_fetchall(_STANDING, {"project": project, "limit": limit})
        projects = await conn.execute_fetchall(PROJECTS)
    return [(memory_from_row(r), int(r["uses"])) for r in rows], [str(p[0]) for p in projects]
