"""Typed links on the local store (memory_core.links has the rules): link, unlink, and a
memory's links in both directions.

A link is a write of its source memory: `supersedes` sets that field, the other types change
its `links` list, each stamped, persisted and handed to sync like any field (writes.put_fields),
so a link replicates with the memory it starts from, and is a version in that memory's history
(the triggers of migration 18, memoryd.store.history_schema).
"""

from __future__ import annotations

import aiosqlite

from memory_core import links as rule
from memory_core.errors import Conflict, InvalidInput, NotFound
from memoryd.store.db import Database
from memoryd.store.origin import write_origin
from memoryd.store.parts import StoreParts
from memoryd.store.records import Link, LinksOf
from memoryd.store.rows import find_live, find_row, memory_from_row
from memoryd.store.writes import put_fields


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _step(conn: aiosqlite.Connection, link_type: str) -> rule.Step:
    """Follows existing live links of `link_type` one hop."""

    async def step(frontier: list[str]) -> list[str]:
        if link_type == rule.SUPERSEDES:
            sql = (
                f"SELECT supersedes FROM memories WHERE id IN ({_marks(len(frontier))}) "
                "AND +deleted_ms IS NULL AND supersedes IS NOT NULL"
            )
            args: tuple[str, ...] = tuple(frontier)
        else:
            sql = (
                "SELECT l.dst FROM memory_links l JOIN memories m ON m.id = l.dst "
                f"WHERE l.src IN ({_marks(len(frontier))}) AND l.type = ? "
                "AND +m.deleted_ms IS NULL"
            )
            args = (*frontier, link_type)
        return [str(row[0]) for row in await conn.execute_fetchall(sql, args)]

    return step


async def link(parts: StoreParts, src_id: str, link_type: str, dst_id: str) -> Link:
    """Link two live memories; 404 when either is not one, 409 when the link exists (or the
    source already supersedes another), 422 for an unknown type or a cycle."""
    kind = rule.check_type(link_type)

    async def job(conn: aiosqlite.Connection) -> Link:
        src = await find_live(conn, src_id)
        dst = await find_live(conn, dst_id)
        await rule.refuse_cycle(src.id, kind, dst.id, _step(conn, kind))
        if kind == rule.SUPERSEDES:
            if src.supersedes == dst.id:
                raise Conflict(f"memory {src.id} already supersedes {dst.id}")
            if src.supersedes is not None:
                raise Conflict(
                    f"memory {src.id} already supersedes {src.supersedes} (a memory replaces "
                    "one other); unlink that first"
                )
            changed: dict[str, object] = {"supersedes": dst.id}
        else:
            if [kind, dst.id] in src.links:
                raise Conflict(f"memory {src.id} already has a {kind} link to {dst.id}")
            changed = {"links": rule.with_link(src.links, kind, dst.id)}
        await put_fields(parts, conn, src, changed, None)
        return Link(src.id, kind, dst.id)

    return await parts.db.write(job)


async def unlink(parts: StoreParts, src_id: str, dst_id: str, link_type: str) -> Link:
    """Remove a link of a live memory (its target may be deleted since); 404 when there is
    no such link."""
    kind = rule.check_type(link_type)

    async def job(conn: aiosqlite.Connection) -> Link:
        src = await find_live(conn, src_id)
        try:
            dst = memory_from_row(await find_row(conn, dst_id))
        except NotFound:
            raise NotFound(f"memory {src.id} has no {kind} link to {dst_id}") from None
        if kind == rule.SUPERSEDES and src.supersedes == dst.id:
            changed: dict[str, object] = {"supersedes": None}
        elif kind != rule.SUPERSEDES and [kind, dst.id] in src.links:
            changed = {"links": rule.without_link(src.links, kind, dst.id)}
        else:
            raise NotFound(f"memory {src.id} has no {kind} link to {dst.id}")
        await put_fields(parts, conn, src, changed, None)
        return Link(src.id, kind, dst.id)

    return await parts.db.write(job)


async def restore(parts: StoreParts, items: list[tuple[str, list[tuple[str, str]]]]) -> None:
    """An import's links, each `(source id, [(type, target id)…])`, added to what the sources
    have, once every item is stored. Like an import's `supersedes`, a link to a memory that is
    not live here, or one that would close a cycle, is dropped, not an error: an export names
    memories deleted since."""
    if not items:
        return

    async def job(conn: aiosqlite.Connection) -> None:
        for src_id, pairs in items:
            try:
                src = await find_live(conn, src_id)
            except NotFound:
                continue
            current = [list(pair) for pair in src.links]
            for kind, dst_id in pairs:
                try:
                    dst = await find_live(conn, dst_id)
                    await rule.refuse_cycle(src.id, kind, dst.id, _step(conn, kind))
                    if [kind, dst.id] not in current:
                        current = rule.with_link(current, kind, dst.id)
                except (NotFound, InvalidInput):
                    continue
            if current != src.links:
                async with write_origin(conn, "import"):  # the history says so, not "edit"
                    await put_fields(parts, conn, src, {"links": current}, None)

    await parts.db.write(job)


async def live_ids(conn: aiosqlite.Connection, ids: list[str]) -> set[str]:
    """Those of `ids` that name a live memory."""
    if not ids:
        return set()
    rows = await conn.execute_fetchall(
        # `+`: by the id index; without statistics SQLite read the live-rows index (every
        # live memory) for 5 ids and more.
        f"SELECT id FROM memories WHERE id IN ({_marks(len(ids))}) AND +deleted_ms IS NULL",
        tuple(ids),
    )
    return {str(row[0]) for row in rows}


async def links_of(db: Database, memory_id: str) -> LinksOf:
    async with db.reader() as conn:
        memory = await find_live(conn, memory_id)
        targets = [d for _, d in memory.links] + [memory.supersedes or ""]
        live = await live_ids(conn, targets)
        incoming = await conn.execute_fetchall(
            "SELECT l.src, l.type FROM memory_links l JOIN memories m ON m.id = l.src "
            "WHERE l.dst = ? AND m.deleted_ms IS NULL "
            "UNION ALL SELECT id, 'supersedes' FROM memories "
            "WHERE supersedes = ? AND +deleted_ms IS NULL ORDER BY 2, 1",
            (memory.id, memory.id),
        )
    return LinksOf(
        memory.id,
        rule.shown(memory.links, memory.supersedes, live),
        [{"id": str(row[0]), "type": str(row[1])} for row in incoming],
    )
