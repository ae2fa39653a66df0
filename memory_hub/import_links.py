"""An import's `supersedes` and typed links on the hub, kept as memoryd's import keeps them
(memoryd/store/transfer.py), so an export moved from a daemon to the hub keeps its links.

A `supersedes` is kept when it names a live memory of the user's, held before or earlier in the
import, and dropped otherwise: an export names memories deleted since and must import all the
same. The other links are restored once every row is in, since they may name memories later in
the export; a link to a memory that is not live, or one that would close a cycle, is dropped,
not an error. Each source whose links change is one more REST write (an op synced daemons pull),
in the import's transaction.
"""

from __future__ import annotations

import asyncpg

from memory_core import links as rule
from memory_core.errors import InvalidInput
from memory_hub.links import follow
from memory_hub.memories import Hub, Write

Pairs = list[tuple[str, str]]


async def _live(conn: asyncpg.Connection, user: str, ids: list[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT id FROM memories WHERE user_id = $1 AND id = ANY($2::text[]) "
        "AND deleted_ms IS NULL",
        user,
        ids,
    )
    return {str(row["id"]) for row in rows}


async def keep_supersedes(
    conn: asyncpg.Connection, user: str, rows: list[tuple[Write, str | None]]
) -> None:
    """Each new memory's `supersedes` (`rows`, in the import's order), set in its write's
    fields when it names a live memory held before or one written earlier in the import."""
    targets = [target for _, target in rows if target]
    if not targets:
        return
    live = await _live(conn, user, targets)
    for write, target in rows:
        if target and target in live:
            write.fields["supersedes"] = target
        live.add(write.entity)


async def restore(
    hub: Hub, conn: asyncpg.Connection, user: str, items: list[tuple[str, Pairs]]
) -> None:
    """The import's links, each `(source id, [(type, target id)…])`, added to what the
    sources hold, one source at a time (a cycle check sees the links restored before it)."""
    for src_id, pairs in items:
        row = await conn.fetchrow(
            "SELECT links FROM memories WHERE user_id = $1 AND id = $2 AND deleted_ms IS NULL",
            user,
            src_id,
        )
        if row is None:
            continue
        held: rule.Links = list(row["links"])
        current = held
        live = await _live(conn, user, [dst for _, dst in pairs])
        for kind, dst in pairs:
            if dst not in live or [kind, dst] in current:
                continue
            try:
                await rule.refuse_cycle(src_id, kind, dst, follow(conn, user, kind))
                current = rule.with_link(current, kind, dst)
            except InvalidInput:
                continue
        if current != held:
            await hub.write(conn, user, [Write(src_id, {"links": current})])
