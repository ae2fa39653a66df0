"""POST /api/memories/import on the hub: a bad row is skipped and reported, never the whole.

Two kinds of refusal, kept apart (issue 19 item 7 against issue 17's "a rejected request changes
nothing"):

- A row the write rule refuses (memory_core.writes: not an object, a wrong field, content too
  long, an unknown category, a bad time or id, a sensitive row on a hub without an encryption
  key: any 422 about that row) is set aside with its index in the request, the id it was sent
  with (its id in the source database) and the reason; the other rows are imported. With
  `skip_invalid=0` such a row fails the whole import instead, a 422 naming it (`"item": 3`), as
  the daemon's import does by default.
- A failure of the request itself (key, limits, quota, body too large, not JSON, Vault
  unreachable, disk full, the database) changes nothing: the rows taken are written in one
  transaction, after every row was checked and sealed.

Running an import again adds nothing: a row whose id (UUID, or the original's integer id with the
same content) the user already has is `exists`, and a row without an id whose content equals a
live memory of the user's (or an earlier row of the same import) is `duplicate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pydantic import BaseModel, ValidationError

from memory_core import writes
from memory_core.clock import ms_from_iso
from memory_core.errors import InvalidInput
from memory_core.http.bodies import validation_message
from memory_core.ids import uuid7
from memory_core.links import check_listed
from memory_core.model import check_id, check_time_ms, is_id
from memory_core.wire import rest
from memory_hub import import_links
from memory_hub.db import user_tx
from memory_hub.ids import adopt_numbers, parse_num, reserve_numbers
from memory_hub.memories import Hub, Write

ID_CHARS = 36  # a memoryd export's ids are UUIDs and are kept as they are
SOURCE_ID_CHARS = 64  # the longest source id echoed back in a rejected row's report
# The original's list answer holds only the rows taken; this header says how many were not.
SKIPPED_HEADER = "X-Import-Skipped"


class ImportQuery(BaseModel):
    """The import's query string: `skip_invalid` (default on) and `report`, which asks for
    memoryd's answer object instead of the original's list."""

    skip_invalid: bool = True
    report: bool = False


@dataclass
class Imported:
    """What an import did: one result per row taken, in order, and the rows set aside."""

    results: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Row:
    index: int
    write: Write
    has_id: bool
    given_time: bool  # created_at was sent: a sealed row without an id is matched on it
    duplicate: bool = False  # it names a memory already held by its content
    # An export line's `supersedes` and other links (memory_hub.import_links).
    supersedes: str | None = None
    links: import_links.Pairs = field(default_factory=list)


def imported_time(name: str, iso: str | None) -> int | None:
    """An import item's `created_at` / `updated_at` in milliseconds, within MAX_TIME_MS."""
    if not iso:
        return None
    try:
        ms = ms_from_iso(iso)
    except (ValueError, OverflowError):
        raise InvalidInput(f"{name} must be an ISO-8601 time, e.g. 2024-05-01T12:00:00Z") from None
    return check_time_ms(name, ms)


def source_id(entry: Any) -> int | str | None:
    """The id a row was sent with, as sent (the original's integer, a UUID), for the report;
    None when it has none usable."""
    value = entry.get("id") if isinstance(entry, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**18:
        return value
    if isinstance(value, str) and value.isprintable() and len(value) <= SOURCE_ID_CHARS:
        return value
    return None


def _item(entry: Any) -> rest.ImportItem:
    if not isinstance(entry, dict):
        raise InvalidInput("must be a JSON object")
    try:
        return rest.ImportItem.model_validate(entry)
    except ValidationError as exc:
        raise InvalidInput(validation_message(exc)) from None


async def import_items(
    hub: Hub, user: str, entries: list[Any], *, skip_invalid: bool = True
) -> Imported:
    """Check and seal every row, set aside (or, without `skip_invalid`, fail on) the ones
    refused, then write the others in one transaction."""
    now = hub.clock.now_ms()
    done = Imported()
    rows: list[_Row] = []
    # An integer id (the original project's, as its /api/memories/sync answers it) becomes the
    # memory's integer id here when the user has no memory of that number yet.
    numbers: dict[str, int] = {}
    for index, entry in enumerate(entries):
        try:
            with writes.import_item(index):
                item = _item(entry)
                fields = writes.new_memory(
                    item, hub.max_content_chars, sensitive=item.is_sensitive, source="import"
                )
                created = imported_time("created_at", item.created_at)
                memory_id, num = uuid7(now), None
                if item.id is not None and len(item.id) == ID_CHARS:
                    memory_id = check_id(item.id)
                elif item.id is not None:
                    num = parse_num(item.id)
                sealed = await hub.sealed(user, memory_id, {**fields, "created_ms": created or now})
                pairs = check_listed(item.links, is_id) if item.links is not None else []
        except InvalidInput as exc:
            if not skip_invalid:
                raise
            reason = exc.message.removeprefix(f"item {index}: ")
            done.rejected.append(
                {"item": index, "id": source_id(entry), "code": exc.code, "reason": reason}
            )
            continue
        if num is not None:
            numbers[memory_id] = num
        supersedes = item.supersedes.lower() if item.supersedes else None
        rows.append(
            _Row(index, sealed, item.id is not None, created is not None, False, supersedes, pairs)
        )
    async with user_tx(hub.pool, user) as conn:
        done.results = await _store(hub, conn, user, rows, numbers)
    return done


async def _store(
    hub: Hub, conn: asyncpg.Connection, user: str, rows: list[_Row], numbers: dict[str, int]
) -> list[dict[str, Any]]:
    prepared = [row.write for row in rows]
    await _already_held(conn, user, prepared, numbers)
    await _same_content(conn, user, [row for row in rows if not row.has_id])
    held = await conn.fetch(
        "SELECT id FROM memories WHERE user_id = $1 AND id = ANY($2::text[])",
        user,
        [write.entity for write in prepared],
    )
    known = {row["id"] for row in held}
    new_rows: list[_Row] = []
    for row in rows:
        if row.write.entity not in known:
            known.add(row.write.entity)  # the same id twice in one import: the first one counts
            new_rows.append(row)
    await import_links.keep_supersedes(conn, user, [(r.write, r.supersedes) for r in new_rows])
    fresh = [row.write for row in new_rows]
    if fresh:
        wanted = {w.entity: numbers[w.entity] for w in fresh if w.entity in numbers}
        last_before = await reserve_numbers(conn, user, wanted)
        await hub.write(conn, user, fresh)
        await adopt_numbers(conn, user, wanted, last_before)
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
    for row in rows:
        entity = row.write.entity
        status = "duplicate" if row.duplicate else "imported" if entity in imported else "exists"
        found = stored[entity]
        results.append(
            {
                "id": found["id"],
                "num": found["num"],
                "category": found["category"],
                "importance": found["importance"],
                "is_sensitive": found["is_sensitive"],
                "status": status,
                "item": row.index,
            }
        )
        imported.discard(entity)  # a second item with that id only found it
    listed = [(str(result["id"]), row.links) for row, result in zip(rows, results, strict=True)]
    await import_links.restore(hub, conn, user, [(src, pairs) for src, pairs in listed if pairs])
    return results


async def _same_content(conn: asyncpg.Connection, user: str, rows: list[_Row]) -> None:
    """Rows sent without an id that a memory of the user's already holds (the same content,
    or for a sealed row the same given creation time), or an earlier such row of this import:
    they name that memory (and are marked `duplicate`), so a second run adds nothing."""
    if not rows:
        return
    contents = [row.write.fields["content"] for row in rows if "content" in row.write.fields]
    times = [row.write.fields["created_ms"] for row in rows if "content" not in row.write.fields]
    found = await conn.fetch(
        "SELECT id, content, is_sensitive, created_ms FROM memories WHERE user_id = $1 "
        "AND deleted_ms IS NULL AND ((NOT is_sensitive AND content = ANY($2::text[])) "
        "OR (is_sensitive AND created_ms = ANY($3::bigint[])))",
        user,
        contents,
        times,
    )
    held = {_mark(found_row["is_sensitive"], found_row): found_row["id"] for found_row in found}
    for row in rows:
        sealed = "content" not in row.write.fields
        if sealed and not row.given_time:
            continue  # its time is now: nothing to match it by
        mark = _mark(sealed, row.write.fields)
        if mark in held:
            row.write.entity = held[mark]
            row.duplicate = True
        else:
            held[mark] = row.write.entity


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
