"""One SQL statement run as a write job: the writer's queue batches it with the others."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite

from memoryd.store.db import Database


async def write_statement(db: Database, sql: str, params: Sequence[Any] = ()) -> int:
    """Run `sql` with `params` on the writer connection, committed with its batch; the rows
    it changed."""

    async def job(conn: aiosqlite.Connection) -> int:
        cursor = await conn.execute(sql, params)
        return cursor.rowcount

    return await db.write(job)
