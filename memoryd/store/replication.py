"""Replication: joining a change pulled from the hub into the local store.

Per-field last-writer-wins by HLC (`memory_core.merge.join`, the join every replica and the
hub share); a delete is terminal; nothing is emitted, the change is another replica's. A
change out of bounds (`merge.check_remote_fields`, `hlc.check_remote`) raises InvalidInput
before anything is written: sync sets it aside.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from typing import Any

import aiosqlite

from memory_core import merge
from memory_core.errors import InvalidInput
from memory_core.hlc import wall_ms
from memory_core.model import Memory
from memoryd.store.origin import write_origin
from memoryd.store.parts import StoreParts
from memoryd.store.records import Change
from memoryd.store.rows import (
    COLUMNS,
    INSERT_ROW,
    UPDATE_ROW,
    memory_from_row,
    plaintext_of_row,
    row_values,
    save_clock,
    tombstone,
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
    values = _joined_row(parts, change, row)
    if values is None:
        return False
    await conn.execute(INSERT_ROW if row is None else UPDATE_ROW, values)
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


# ---------------------------------------------------------------------------- a whole page

# Rows read per statement: well under SQLite's limit on bound parameters.
_READ_CHUNK = 500


async def apply_page(
    parts: StoreParts, conn: aiosqlite.Connection, changes: list[Change]
) -> list[bool | str]:
    """`apply_remote` for each of `changes` in order, inside the caller's transaction, with a
    fixed number of statements for the common case: puts to memories that appear once in the
    page are joined in memory against rows read together and written with one statement per
    kind (insert, update). Deletes and memories changed twice in the page go through
    `apply_remote` one by one, in page order. Each answer: whether the row changed, or why the
    change was refused (InvalidInput's message: sync sets it aside)."""
    times = Counter(change.entity_id for change in changes)
    batched = {
        i
        for i, change in enumerate(changes)
        if change.kind == "put" and times[change.entity_id] == 1
    }
    rows = await _read_rows(conn, [changes[i].entity_id for i in sorted(batched)])
    answers: list[bool | str] = []
    # By the replica each change came from: the history's triggers record it (write_origin).
    inserts: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    updates: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for index, change in enumerate(changes):
        try:
            if index not in batched:
                answers.append(await apply_remote(parts, conn, change))
                continue
            parts.hlc.recv(change.hlc)
            values = _joined_row(parts, change, rows.get(change.entity_id))
        except InvalidInput as exc:
            answers.append(exc.message)
            continue
        answers.append(values is not None)
        if values is not None:
            (updates if change.entity_id in rows else inserts)[change.replica].append(values)
    for replica in {*inserts, *updates}:
        async with write_origin(conn, "sync", replica):
            if inserts[replica]:
                await conn.executemany(INSERT_ROW, inserts[replica])
            if updates[replica]:
                await conn.executemany(UPDATE_ROW, updates[replica])
    await save_clock(conn, parts.hlc.last)
    return answers


async def _read_rows(conn: aiosqlite.Connection, ids: list[str]) -> dict[str, sqlite3.Row]:
    found: dict[str, sqlite3.Row] = {}
    for first in range(0, len(ids), _READ_CHUNK):
        chunk = ids[first : first + _READ_CHUNK]
        marks = ", ".join("?" * len(chunk))
        async with conn.execute(
            f"SELECT {COLUMNS}, deleted_hlc FROM memories WHERE id IN ({marks})", chunk
        ) as cursor:
            found.update((row["id"], row) for row in await cursor.fetchall())
    return found


def _joined_row(
    parts: StoreParts, change: Change, row: sqlite3.Row | None
) -> dict[str, Any] | None:
    """The row's new columns once `change` (a put) is joined into it, or None if it does not
    change: the decisions of `apply_remote`, on a row already read."""
    if row is not None and row["deleted_ms"] is not None:
        return None  # deletes are terminal
    fields = merge.check_remote_fields(change.fields)
    current, text, seen = Memory.blank(change.entity_id), None, None
    if row is not None:
        current = memory_from_row(row)
        if "content" in current.field_hlc:
            text = plaintext_of_row(parts.cipher, current, row["secret"])
        values = {**current.__dict__, "content": text}  # content compared in clear
        seen = merge.Seen(values, current.field_hlc, current.created_ms, current.updated_ms)
    joined = merge.join(seen, change.hlc, fields)
    if not joined.changed:
        return None
    memory = Memory(**{**current.__dict__, **joined.winners})
    memory.created_ms, memory.updated_ms = joined.created_ms, joined.updated_ms
    memory.field_hlc = {**current.field_hlc, **dict.fromkeys(joined.winners, change.hlc)}
    return row_values(parts.cipher, memory, joined.winners.get("content", text))
