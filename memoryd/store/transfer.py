"""Import and export: many memories in, every live memory out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiosqlite

from memory_core.crypto.aead import Cipher
from memory_core.errors import InvalidInput
from memory_core.model import check_id
from memoryd.store import succession
from memoryd.store.db import Database
from memoryd.store.parts import StoreParts
from memoryd.store.records import ImportResult, NewMemory
from memoryd.store.rows import COLUMNS, id_taken, memory_from_row, open_sealed
from memoryd.store.writes import create_in, new_fields

EXPORT_PAGE = 500


async def import_many(parts: StoreParts, items: list[NewMemory]) -> ImportResult:
    """Import in one transaction: all or nothing. Known ids are skipped, equal content
    merges into the existing memory (as a store would). A `supersedes` link is kept when it
    names a live memory (stored before, or earlier in the import) and dropped otherwise: an
    export holds links to memories deleted since, and must import again all the same."""
    prepared = []
    for index, new in enumerate(items):
        try:
            fields = new_fields(new, parts.max_content_chars)
            memory_id = check_id(new.id) if new.id else None
        except InvalidInput as exc:
            raise type(exc)(f"item {index}: {exc.message}") from None  # keep the code
        prepared.append((new, fields, memory_id))

    async def job(conn: aiosqlite.Connection) -> ImportResult:
        result = ImportResult()
        for new, fields, memory_id in prepared:
            if memory_id is not None and await id_taken(conn, memory_id):
                result.existing += 1
                result.results.append({"id": memory_id, "status": "exists"})
                continue
            chosen = fields
            if new.supersedes is not None:
                target = await succession.live_target(conn, new.supersedes)
                chosen = fields if target is None else {**fields, "supersedes": target}
            created = await create_in(
                parts, conn, chosen, memory_id, new.created_ms, new.updated_ms
            )
            if created.duplicate_of:
                result.duplicates += 1
                status = "duplicate"
            else:
                result.imported += 1
                status = "imported"
            result.results.append(
                {
                    "id": created.memory.id,
                    "category": created.memory.category,
                    "importance": created.memory.importance,
                    "status": status,
                }
            )
        return result

    return await parts.db.write(job)


async def export(
    db: Database, cipher: Cipher, include_sensitive: bool
) -> AsyncIterator[dict[str, Any]]:
    """Every live memory, oldest first, read in pages so memory use stays flat."""
    last = 0
    while True:
        async with (
            db.reader() as conn,
            conn.execute(
                f"SELECT {COLUMNS} FROM memories WHERE rowid > ? AND deleted_ms IS NULL "
                "ORDER BY rowid LIMIT ?",
                (last, EXPORT_PAGE),
            ) as cursor,
        ):
            rows = list(await cursor.fetchall())
        if not rows:
            return
        for row in rows:
            memory = memory_from_row(row)
            content: str | None = memory.content
            if memory.is_sensitive:
                content = (
                    open_sealed(cipher, memory.id, row["secret"]) if include_sensitive else None
                )
            yield {"memory": memory, "content": content}
        last = rows[-1]["rowid"]
