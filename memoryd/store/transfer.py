"""Import and export: many memories in, every live memory out."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import Any

import aiosqlite

from memory_core import writes as rule
from memory_core.crypto.aead import Cipher
from memory_core.links import check_listed
from memory_core.model import check_id, check_time_ms, is_id
from memoryd.store import succession
from memoryd.store.db import Database
from memoryd.store.links import restore
from memoryd.store.parts import StoreParts
from memoryd.store.records import ImportResult, NewMemory
from memoryd.store.rows import COLUMNS, memory_from_row, open_sealed
from memoryd.store.writes import content_fingerprint, create_in

EXPORT_PAGE = 500
# Items per write transaction. The store has one writer; an import holding it for its whole
# length (20k items took ~7 s) made interactive writes time out. Between batches the writer
# takes the writes that queued meanwhile, in a transaction of their own, so those wait for at
# most the batch under way: 50 items, about 6 ms of CPU (100 gave an interactive store a p95
# of 56-77 ms on a loaded machine, 50 gave 32-37 ms, for the same import CPU).
IMPORT_BATCH = 50

Prepared = tuple[NewMemory, dict[str, Any], str | None]


async def import_many(parts: StoreParts, items: list[NewMemory]) -> ImportResult:
    """Import in batches of `IMPORT_BATCH`, each its own transaction. Every item is checked
    before anything is written, so invalid input changes nothing. An import cut short (a
    crash, a full disk) leaves whole batches only, and running it again completes it without
    duplicates: known ids are skipped, equal content merges into the existing memory (as a
    store would). A `supersedes` link is kept when it names a live memory (stored before, or
    earlier in the import) and dropped otherwise: an export holds links to memories deleted
    since, and must import again all the same. The other links are restored once every item
    is in (`links.restore`), since they may name memories later in the export."""
    prepared: list[Prepared] = []
    for index, new in enumerate(items):
        if index and index % IMPORT_BATCH == 0:
            await asyncio.sleep(0)  # checking is CPU work too: let other requests in
        with rule.import_item(index):
            for name, ms in (("created_at", new.created_ms), ("updated_at", new.updated_ms)):
                if ms is not None:
                    check_time_ms(name, ms)
            fields = rule.new_memory(new, parts.max_content_chars)
            memory_id = check_id(new.id) if new.id else None
            if new.links is not None:
                new.links = check_listed(new.links, is_id)
        prepared.append((new, fields, memory_id))

    result = ImportResult()
    for start in range(0, len(prepared), IMPORT_BATCH):
        batch = prepared[start : start + IMPORT_BATCH]
        # Awaiting each batch before queueing the next puts writes that arrived meanwhile
        # ahead of it in the writer's queue.
        done = await parts.db.write(
            functools.partial(_import_batch, parts, batch),
            stored_if_disk_full=(
                f"the first {start} of the import's {len(prepared)} items were stored, the rest "
                "not; sending the import again completes it without duplicates"
                if start
                else "nothing was stored"
            ),
            alone=True,  # stores queued meanwhile commit before it, not with it
        )
        result.imported += done.imported
        result.duplicates += done.duplicates
        result.existing += done.existing
        result.results.extend(done.results)
    listed = [(r["id"], new.links) for (new, _, _), r in zip(prepared, result.results, strict=True)]
    await restore(parts, [(src, pairs) for src, pairs in listed if pairs])
    return result


async def _import_batch(
    parts: StoreParts, batch: list[Prepared], conn: aiosqlite.Connection
) -> ImportResult:
    """One batch's writes; a fresh result each run, since a shared transaction that had to be
    undone runs its jobs again."""
    result = ImportResult()
    # The batch's ids and texts are looked up in two statements instead of two per item
    # (~0.1 s of CPU in an import of 10,000); what the batch itself writes joins the sets as
    # it goes, so an id is taken exactly when a look-up would find it, and a text missing from
    # `live_texts` certainly matches no live memory (one in it is looked up as before).
    taken = await _present(conn, "id", [memory_id for _, _, memory_id in batch if memory_id])
    texts = [content_fingerprint(parts, fields["content"]) for _, fields, _ in batch]
    live_texts = await _present(conn, "content_hash", texts)
    for (new, fields, memory_id), text in zip(batch, texts, strict=True):
        if memory_id is not None and memory_id in taken:
            result.existing += 1
            result.results.append({"id": memory_id, "status": "exists"})
            continue
        chosen = fields
        if new.supersedes is not None:
            target = await succession.live_target(conn, new.supersedes)
            chosen = fields if target is None else {**fields, "supersedes": target}
        created = await create_in(
            parts,
            conn,
            chosen,
            memory_id,
            new.created_ms,
            new.updated_ms,
            id_checked=True,
            text_unmatched=text not in live_texts,
            fingerprint=text,
        )
        taken.add(created.memory.id)
        live_texts.add(text)
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


# The rows an import batch looks up at once: given ids among all rows (tombstones too), texts'
# fingerprints among the live ones. INDEXED BY: without statistics (a new database, before the
# first PRAGMA optimize) SQLite walked the live-rows index for `deleted_ms IS NULL`, every
# live memory per batch (10,000 imported took 0.5 s more CPU), instead of the column's own.
_LOOKUPS = {
    "id": "SELECT id FROM memories INDEXED BY sqlite_autoindex_memories_1 WHERE id IN",
    "content_hash": "SELECT content_hash FROM memories INDEXED BY memories_hash "
    "WHERE deleted_ms IS NULL AND content_hash IN",
}


async def _present(conn: aiosqlite.Connection, column: str, values: list[str]) -> set[str]:
    """Which of `values` (at most a batch's: far below SQLite's limit on parameters) the
    look-up `_LOOKUPS[column]` finds."""
    if not values:
        return set()
    marks = ", ".join("?" * len(values))
    rows = await conn.execute_fetchall(f"{_LOOKUPS[column]} ({marks})", values)
    return {row[0] for row in rows}


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
