"""Local writes: create (merging into an equal memory), update, delete (a tombstone).

Every write is one transaction on the single writer. It stamps the changed fields with the
hybrid logical clock, persists the clock, and hands the change to `on_change` (the sync
outbox) inside the same transaction, so that state, clock and outbox never disagree.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

import aiosqlite

from memory_core import writes as rule
from memory_core.errors import Conflict
from memory_core.ids import uuid7
from memory_core.model import Memory, check_id, normalize_for_dedup
from memoryd.store import succession
from memoryd.store.origin import write_origin
from memoryd.store.parts import StoreParts
from memoryd.store.records import Change, Created, NewMemory, Patch
from memoryd.store.rows import (
    COLUMNS,
    find_live,
    find_row,
    id_taken,
    memory_from_row,
    read_plaintext,
    save_clock,
    tombstone,
    write_row,
)


async def create(parts: StoreParts, new: NewMemory) -> Created:
    fields = rule.new_memory(new, parts.max_content_chars)
    memory_id = check_id(new.id) if new.id else None

    async def job(conn: aiosqlite.Connection) -> Created:
        chosen = fields
        if new.supersedes is not None:
            chosen = {**fields, "supersedes": await succession.check_target(conn, new.supersedes)}
        return await create_in(parts, conn, chosen, memory_id, new.created_ms, new.updated_ms)

    return await parts.db.write(job)


async def create_in(
    parts: StoreParts,
    conn: aiosqlite.Connection,
    fields: dict[str, Any],
    memory_id: str | None,
    created_ms: int | None,
    updated_ms: int | None,
    id_checked: bool = False,
    text_unmatched: bool = False,
    fingerprint: str | None = None,
) -> Created:
    """Create a memory from `rule.new_memory`'s fields (plus `supersedes`, the checked id of
    the memory it replaces, if any) inside the caller's write transaction, or merge it into a
    live memory with the same text. `id_checked`: the caller found `memory_id` free in this
    transaction (an import, which answers "exists" rather than a conflict). `text_unmatched`:
    the caller found no live memory with this text's fingerprint in this transaction (an
    import looks a whole batch's up at once); `fingerprint`: the text's, when the caller has
    it already."""
    fingerprint = fingerprint or content_fingerprint(parts, fields["content"])
    found: Iterable[sqlite3.Row] = ()
    if not text_unmatched:
        # One round trip to the writer thread per statement (execute_fetchall): the writer is
        # the one serial resource, and every hop holds it.
        found = await conn.execute_fetchall(
            f"SELECT {COLUMNS} FROM memories WHERE content_hash = ? AND deleted_ms IS NULL "
            "ORDER BY created_ms LIMIT 1",
            (fingerprint,),
        )
    if found:
        existing = memory_from_row(next(iter(found)))
        merged = {
            "tags": existing.tags + [t for t in fields["tags"] if t not in existing.tags],
            "importance": max(existing.importance, fields["importance"]),
            "expanded_keywords": _merge_words(
                existing.expanded_keywords, fields["expanded_keywords"]
            ),
            "is_sensitive": existing.is_sensitive or fields["is_sensitive"],
        }
        replaces = fields.get("supersedes")
        if replaces not in (None, existing.id) and existing.supersedes is None:
            merged["supersedes"] = replaces  # the same text, stored again as a replacement
        changed = {k: v for k, v in merged.items() if getattr(existing, k) != v}
        if changed:
            existing = await put_fields(parts, conn, existing, changed, None)
        return Created(existing, duplicate_of=existing.id)

    now = parts.clock.now_ms()
    new_id = memory_id or uuid7(now)
    # A fresh UUIDv7 cannot collide (74 random bits); only a given id is checked.
    if memory_id is not None and not id_checked and await id_taken(conn, new_id):
        raise Conflict(f"a memory with id {new_id} already exists")
    created = created_ms or now
    blank = Memory.blank(
        new_id,
        category=fields["category"],
        source=fields["source"],
        created_ms=created,
        updated_ms=updated_ms or created,
    )
    memory = await put_fields(
        parts, conn, blank, fields, fields["content"], insert=True, fingerprint=fingerprint
    )
    return Created(memory)


def content_fingerprint(parts: StoreParts, content: str) -> str:
    """The `content_hash` under which equal texts (case and spacing aside) merge."""
    return parts.cipher.fingerprint(normalize_for_dedup(content))


async def update(parts: StoreParts, memory_id: str, patch: Patch) -> Memory:
    changed = rule.patch(patch, parts.max_content_chars, clear_project=patch.clear_project)

    async def job(conn: aiosqlite.Connection) -> Memory:
        current = await find_live(conn, memory_id)
        plaintext = changed.get("content")
        if plaintext is None:
            plaintext = await read_plaintext(conn, parts.cipher, current)
        delta = {
            k: v
            for k, v in changed.items()
            if getattr(current, k) != v or (k == "content" and current.is_sensitive)
        }
        if "is_sensitive" in delta and current.is_sensitive:
            delta.pop("is_sensitive")  # sensitivity only ever escalates
        if not delta:
            return current
        async with write_origin(conn, patch.origin):
            return await put_fields(parts, conn, current, delta, plaintext)

    return await parts.db.write(job)


async def delete(parts: StoreParts, memory_id: str) -> tuple[Memory, bool]:
    """Tombstone a memory. Returns the memory as it was, and whether it was live."""

    async def job(conn: aiosqlite.Connection) -> tuple[Memory, bool]:
        current = memory_from_row(await find_row(conn, memory_id))
        if current.deleted:
            return current, False
        hlc = parts.hlc.send()
        await tombstone(conn, current.id, parts.clock.now_ms(), hlc)
        await _emit(parts, conn, Change(current.id, "del", hlc, {}))
        return current, True

    return await parts.db.write(job)


async def put_fields(
    parts: StoreParts,
    conn: aiosqlite.Connection,
    current: Memory,
    changed: Mapping[str, Any],
    plaintext: str | None,
    insert: bool = False,
    fingerprint: str | None = None,
) -> Memory:
    """Write `changed` fields onto `current` (stamped with one new HLC) and emit the
    change. `plaintext` is the memory's content after the change; `fingerprint`, its content
    hash when the caller has computed it already."""
    hlc = parts.hlc.send()
    memory = Memory(**{**current.__dict__, **changed})
    memory.field_hlc = {**current.field_hlc, **dict.fromkeys(changed, hlc)}
    if not insert:
        memory.updated_ms = max(parts.clock.now_ms(), memory.created_ms)
    text = plaintext if plaintext is not None else await read_plaintext(conn, parts.cipher, current)
    await write_row(conn, parts.cipher, memory, text, insert, fingerprint)
    await _emit(parts, conn, Change(memory.id, "put", hlc, dict(changed)))
    return memory


async def _emit(parts: StoreParts, conn: aiosqlite.Connection, change: Change) -> None:
    await save_clock(conn, parts.hlc.last)
    if parts.on_change is not None:
        await parts.on_change(conn, change)


def _merge_words(old: str, new: str) -> str:
    words = old.split()
    seen = {w.lower() for w in words}
    for word in new.split():
        if word.lower() not in seen:
            seen.add(word.lower())
            words.append(word)
    return " ".join(words)
