"""Replication: joining a change pulled from the hub into the local store.

Per-field last-writer-wins by HLC (`memory_core.merge.join`, the join every replica and the
hub share); a delete is terminal; nothing is emitted, the change is another replica's. A
change out of bounds (`merge.check_remote_fields`, `hlc.check_remote`) raises InvalidInput
before anything is written: sync sets it aside.
"""

from __future__ import annotations

import sqlite3

import aiosqlite

from memory_core import merge
from memory_core.hlc import wall_ms
from memory_core.model import Memory
from memoryd.store.origin import write_origin
from memoryd.store.parts import StoreParts
from memoryd.store.records import Change
from memoryd.store.rows import (
    COLUMNS,
    memory_from_row,
    read_plaintext,
    save_clock,
    tombstone,
    write_row,
)


async def apply_remote(parts: StoreParts, conn: aiosqlite.Connection, change: Change) -> bool:
    """Join `change` inside the caller's transaction (sync applies a page and advances its
    cursor together); the clock moves past the remote stamp. Returns whether the row
    changed."""
    parts.hlc.recv(change.hlc)
    await save_clock(conn, parts.hlc.last)
    async with conn.execute(
        f"SELECT {COLUMNS}, deleted_hlc FROM memories WHERE id = ?", (change.entity_id,)
    ) as cursor:
        row = await cursor.fetchone()
    # Recorded in the memory's history as sync's, from the replica that made the change.
    async with write_origin(conn, "sync", change.replica):
        return await _apply(parts, conn, change, row)


async def _apply(
    parts: StoreParts, conn: aiosqlite.Connection, change: Change, row: sqlite3.Row | None
) -> bool:
    if change.kind == "del":
        return await _apply_remote_delete(parts, conn, change, row)
    if row is not None and row["deleted_ms"] is not None:
        return False  # deletes are terminal
    fields = merge.check_remote_fields(change.fields)
    current, text, seen = Memory.blank(change.entity_id), None, None
    if row is not None:
        current = memory_from_row(row)
        if "content" in current.field_hlc:
            text = await read_plaintext(conn, parts.cipher, current)
        values = {**current.__dict__, "content": text}  # content compared in clear
        seen = merge.Seen(values, current.field_hlc, current.created_ms, current.updated_ms)
    joined = merge.join(seen, change.hlc, fields)
    if not joined.changed:
        return False
    memory = Memory(**{**current.__dict__, **joined.winners})
    memory.created_ms, memory.updated_ms = joined.created_ms, joined.updated_ms
    memory.field_hlc = {**current.field_hlc, **dict.fromkeys(joined.winners, change.hlc)}
    text = joined.winners.get("content", text)
    await write_row(conn, parts.cipher, memory, text, insert=row is None)
    return True


async def _apply_remote_delete(
    parts: StoreParts, conn: aiosqlite.Connection, change: Change, row: sqlite3.Row | None
) -> bool:
    now = parts.clock.now_ms()
    if row is None:
        # A delete of a memory this replica never saw: keep its tombstone, so that the
        # memory's own changes, pulled later, cannot bring it back.
        stamp = wall_ms(change.hlc)
        await conn.execute(
            "INSERT INTO memories (id, category, created_ms, updated_ms, deleted_ms, "
            "deleted_hlc) VALUES (?, 'facts', ?, ?, ?, ?)",
            (change.entity_id, stamp, stamp, now, change.hlc),
        )
        return True
    if row["deleted_ms"] is not None:
        if row["deleted_hlc"] is None or change.hlc > row["deleted_hlc"]:
            await conn.execute(
                "UPDATE memories SET deleted_hlc = ? WHERE id = ?", (change.hlc, row["id"])
            )
        return False
    await tombstone(conn, row["id"], now, change.hlc)
    return True
