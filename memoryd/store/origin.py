"""Who made the writes of a transaction, for the memory's history (migration 10's triggers
read `write_origin`): sync, the viewer, a restore. Without it the triggers say what the row
says (an insert is its `source`; an update an edit)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiosqlite


@contextlib.asynccontextmanager
async def write_origin(
    conn: aiosqlite.Connection, name: str | None, replica: str | None = None
) -> AsyncIterator[None]:
    """Inside a write transaction: the writes made in the block are recorded as `name`'s
    (and `replica`'s); nothing is set when `name` is None."""
    if name is None:
        yield
        return
    await conn.execute(
        "INSERT OR REPLACE INTO write_origin (k, origin, replica) VALUES (1, ?, ?)",
        (name, replica),
    )
    try:
        yield
    finally:
        await conn.execute("DELETE FROM write_origin WHERE k = 1")
