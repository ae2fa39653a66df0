"""Import and export: many memories in, every live memory out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiosqlite

from memory_core import writes as rule
from memory_core.crypto.aead import Cipher
from memory_core.model import check_id, check_time_ms
from memoryd.store.db import Database
from memoryd.store.parts import StoreParts
from memoryd.store.records import ImportResult, NewMemory
from memoryd.store.rows import COLUMNS, id_taken, memory_from_row, open_sealed
from memoryd.store.writes import create_in

EXPORT_PAGE = 500


async def import_many(parts: StoreParts, items: list[NewMemory]) -> ImportResult:
    """Import in one transaction: all or nothing. Known ids are skipped, equal content
    merges into the existing memory (as a store would)."""
    prepared = []
    for index, new in enumerate(items):
        with rule.import_item(index):
            for name, ms in (("created_at", new.created_ms), ("updated_at", new.updated_ms)):
                if ms is not None:
                    check_time_ms(name, ms)
            fields = rule.new_memory(new, parts.max_content_chars)
            memory_id = check_id(new.id) if new.id else None
        prepared.append((new, fields, memory_id))

    async def job(conn: aiosqlite.Connection) -> ImportResult:
        result = ImportResult()
        for new, fields, memory_id in prepared:
            if memory_id is not None and await id_taken(conn, memory_id):
                result.existing += 1
                result.results.append({"id": memory_id, "status": "exists"})
                continue
            created = await create_in(
                parts, conn, fields, memory_id, new.created_ms, new.updated_ms
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
                # No secret here: the hub sealed it with its own key (stored over its REST
                # API), and only the hub can read it; the line says so with a null content.
                sealed = row["secret"] if include_sensitive else None
                content = open_sealed(cipher, memory.id, sealed) if sealed is not None else None
            yield {"memory": memory, "content": content}
        last = rows[-1]["rowid"]
