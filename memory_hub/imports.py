"""POST /api/memories/import on the hub: all or nothing, as on the daemon.

Every item is checked by the daemon's rule (memory_core.writes) and every sensitive content
sealed before anything is written; then the whole import is one transaction, so an invalid
item, a refused seal or a failed statement leaves the user's memories as they were.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from memory_core import writes
from memory_core.clock import ms_from_iso
from memory_core.errors import InvalidInput
from memory_core.ids import uuid7
from memory_core.model import check_id, check_time_ms
from memory_core.wire import rest
from memory_hub.db import user_tx
from memory_hub.ids import adopt_numbers, parse_num
from memory_hub.memories import Hub, Write

ID_CHARS = 36  # a memoryd export's ids are UUIDs and are kept as they are


def imported_time(name: str, iso: str | None) -> int | None:
    """An import item's `created_at` / `updated_at` in milliseconds, within MAX_TIME_MS."""
    if not iso:
        return None
    try:
        ms = ms_from_iso(iso)
    except (ValueError, OverflowError):
        raise InvalidInput(f"{name} must be an ISO-8601 time, e.g. 2024-05-01T12:00:00Z") from None
    return check_time_ms(name, ms)


async def import_items(hub: Hub, user: str, items: list[rest.ImportItem]) -> list[dict[str, Any]]:
    """One result per item, in order: the memory's UUID (`id`), integer id (`num`), category,
    importance, sensitivity and `status`, `imported` or `exists` (its id was already stored)."""
    now = hub.clock.now_ms()
    prepared: list[Write] = []
    # An integer id (the original project's, as its /api/memories/sync answers it) becomes the
    # memory's integer id here when the user has no memory of that number yet.
    numbers: dict[str, int] = {}
    for index, item in enumerate(items):
        with writes.import_item(index):
            fields = writes.new_memory(
                item, hub.max_content_chars, sensitive=item.is_sensitive, source="import"
            )
            created = imported_time("created_at", item.created_at) or now
            memory_id = uuid7(now)
            if item.id is not None and len(item.id) == ID_CHARS:
                memory_id = check_id(item.id)
            elif item.id is not None and (num := parse_num(item.id)) is not None:
                numbers[memory_id] = num
            prepared.append(await hub.sealed(user, memory_id, {**fields, "created_ms": created}))
    fresh: list[Write] = []
    async with user_tx(hub.pool, user) as conn:
        await _already_held(conn, user, prepared, numbers)
        rows = await conn.fetch(
            "SELECT id FROM memories WHERE user_id = $1 AND id = ANY($2::text[])",
            user,
            [write.entity for write in prepared],
        )
        known = {row["id"] for row in rows}
        for write in prepared:
            if write.entity not in known:
                known.add(write.entity)  # the same id twice in one import: the first one counts
                fresh.append(write)
        if fresh:
            await hub.write(conn, user, fresh)
            await adopt_numbers(
                conn, user, {w.entity: numbers[w.entity] for w in fresh if w.entity in numbers}
            )
        stored = {
            row["id"]: row
            for row in await conn.fetch(
                "SELECT id, num, category, importance, is_sensitive FROM memories "
                "WHERE user_id = $1 AND id = ANY($2::text[])",
                user,
                [write.entity for write in prepared],
            )
        }
    imported = {write.entity for write in fresh}
    results = []
    for write in prepared:
        row = stored[write.entity]
        results.append(
            {
                "id": row["id"],
                "num": row["num"],
                "category": row["category"],
                "importance": row["importance"],
                "is_sensitive": row["is_sensitive"],
                "status": "imported" if write.entity in imported else "exists",
            }
        )
        imported.discard(write.entity)  # a second item with that id only found it
    return results


async def _already_held(
    conn: asyncpg.Connection, user: str, prepared: list[Write], numbers: dict[str, int]
) -> None:
    """An item carrying an integer id that the user's memory of that number already has, with
    the same content, was imported before: it names that memory, so a second run adds nothing.
    A sensitive item's content is sealed, so there the same creation time stands in for it."""
    if not numbers:
        return
    rows = await conn.fetch(
        "SELECT id, num, content, is_sensitive, created_ms FROM memories "
        "WHERE user_id = $1 AND num = ANY($2::bigint[]) AND deleted_ms IS NULL",
        user,
        list(numbers.values()),
    )
    held = {(row["num"], _mark(row["is_sensitive"], row)): row["id"] for row in rows}
    for write in prepared:
        sealed = write.secret is not None or "content" not in write.fields
        same = held.get((numbers.get(write.entity), _mark(sealed, write.fields)))
        if same is not None:
            del numbers[write.entity]
            write.entity = same


def _mark(sealed: bool, values: Any) -> object:
    """What tells two memories of one number apart: their content, or for a sealed one (whose
    content the hub does not compare) its creation time."""
    return ("sealed", values["created_ms"]) if sealed else values["content"]
