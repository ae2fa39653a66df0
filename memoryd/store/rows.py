"""The `memories` row: how a memory is stored (a sensitive text sealed whole, never indexed),
read back and found by id, and the statements that writes and replication share."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import aiosqlite

from memory_core.crypto.aead import Cipher, memory_aad
from memory_core.errors import InvalidInput, NotFound
from memory_core.model import CREATION_FIELDS, Memory, check_id, normalize_for_dedup, parse_num
from memoryd.store.writer import WriterConnection

COLUMNS = (
    "rowid, id, content, secret, category, tags, expanded_keywords, importance, is_sensitive, "
    "project, source, created_ms, updated_ms, deleted_ms, field_hlc, supersedes, links"
)


def _json_list(raw: str) -> list[Any]:
    """A JSON list column; most rows hold no tags and no links: "[]" without the decoder
    (recall builds a dozen memories a prompt, each with three JSON columns)."""
    if raw == "[]":
        return []
    found: list[Any] = json.loads(raw)
    return found


# Where each of COLUMNS is in a row that starts with them (every statement reading memories
# selects them first; recall's add its bm25 after them). By position, a sqlite3.Row answers in
# ~50 ns; by name it compares the name with each column's in turn, 120-400 ns: a prompt hook's
# recall reads ~1,000 fields of its ~60 candidates.
COLUMN_NAMES = tuple(name.strip() for name in COLUMNS.split(","))
POSITION = {name: index for index, name in enumerate(COLUMN_NAMES)}
WIDTH = len(COLUMN_NAMES)


def memory_from_row(row: sqlite3.Row) -> Memory:
    """The memory of a row that starts with COLUMNS, in their order."""
    (
        rowid,
        memory_id,
        content,
        _secret,  # sealed: only open_sealed reads it
        category,
        tags,
        keywords,
        importance,
        is_sensitive,
        project,
        source,
        created_ms,
        updated_ms,
        deleted_ms,
        field_hlc,
        supersedes,
        links,
    ) = row[:WIDTH]
    return Memory(
        id=memory_id,
        content=content,
        category=category,
        tags=_json_list(tags),
        expanded_keywords=keywords,
        importance=importance,
        is_sensitive=bool(is_sensitive),
        project=project,
        source=source,
        created_ms=created_ms,
        updated_ms=updated_ms,
        deleted_ms=deleted_ms,
        field_hlc=json.loads(field_hlc),
        supersedes=supersedes,
        links=_json_list(links),
        # The rowid: `INTEGER PRIMARY KEY`, never reused (migrations.py, _V9_LINK_INDEX).
        num=rowid,
    )


def open_sealed(cipher: Cipher, memory_id: str, sealed: bytes) -> str:
    """The plaintext of a sensitive memory's `secret` column."""
    return cipher.open(sealed, memory_aad(memory_id))


# Configured once, never changed (json.dumps with options builds an encoder per call).
_SORTED = json.JSONEncoder(sort_keys=True)


async def write_row(
    conn: aiosqlite.Connection,
    cipher: Cipher,
    memory: Memory,
    text: str | None,
    insert: bool,
    fingerprint: str | None = None,
) -> None:
    """Store `memory` with plaintext `text` (see `row_values`)."""
    values = row_values(cipher, memory, text, fingerprint)
    done = await conn.execute(INSERT_ROW if insert else UPDATE_ROW, values)
    if insert:
        memory.num = done.lastrowid  # the short integer id (memory_from_row's `num`)


def row_values(
    cipher: Cipher, memory: Memory, text: str | None, fingerprint: str | None = None
) -> dict[str, Any]:
    """The `memories` columns of `memory` with plaintext `text`. A sensitive memory's text is
    sealed whole: no word of it reaches the content column, the full-text index or the vectors
    (redacting only the detected secret left the rest findable, confirming a guess), so it is
    found only by the tags, category and keywords the user gave it. `text` is None for content
    this machine never had (sealed by the hub). `fingerprint`: `text`'s content hash, when
    the caller has already computed it."""
    if text is not None:
        memory.content = None if memory.is_sensitive else text
    return {
        "id": memory.id,
        "content": memory.content,
        "secret": (
            cipher.seal(text, memory_aad(memory.id))
            if memory.is_sensitive and text is not None
            else None
        ),
        "content_hash": (
            None if text is None else fingerprint or cipher.fingerprint(normalize_for_dedup(text))
        ),
        "category": memory.category,
        "tags": json.dumps(memory.tags),
        "expanded_keywords": memory.expanded_keywords,
        "importance": memory.importance,
        "is_sensitive": int(memory.is_sensitive),
        "project": memory.project,
        "source": memory.source,
        "created_ms": memory.created_ms,
        "updated_ms": memory.updated_ms,
        "field_hlc": _SORTED.encode(memory.field_hlc),
        "supersedes": memory.supersedes,
        "links": json.dumps(memory.links),
    }


_ROW_NAMES = (
    "id",
    *CREATION_FIELDS,
    "secret",
    "content_hash",
    "created_ms",
    "updated_ms",
    "field_hlc",
    "supersedes",
    "links",
)
# Named parameters: `row_values` feeds these one row at a time or many with executemany.
INSERT_ROW = (
    f"INSERT INTO memories ({', '.join(_ROW_NAMES)}) "
    f"VALUES ({', '.join(f':{k}' for k in _ROW_NAMES)})"
)
UPDATE_ROW = (
    f"UPDATE memories SET {', '.join(f'{k} = :{k}' for k in _ROW_NAMES if k != 'id')} "
    "WHERE id = :id"
)


async def read_plaintext(conn: aiosqlite.Connection, cipher: Cipher, memory: Memory) -> str:
    """A stored memory's full text: its content, or its sealed text opened."""
    if not memory.is_sensitive:
        return memory.content or ""
    async with conn.execute("SELECT secret FROM memories WHERE id = ?", (memory.id,)) as cursor:
        row = await cursor.fetchone()
    return plaintext_of_row(cipher, memory, None if row is None else row[0])


def plaintext_of_row(cipher: Cipher, memory: Memory, secret: bytes | None) -> str:
    """`read_plaintext` on a row already read with its `secret` column."""
    if not memory.is_sensitive:
        return memory.content or ""
    return "" if secret is None else open_sealed(cipher, memory.id, secret)


async def id_taken(conn: aiosqlite.Connection, memory_id: str) -> bool:
    """Whether a row (live or tombstone) has this exact id."""
    return bool(await conn.execute_fetchall("SELECT 1 FROM memories WHERE id = ?", (memory_id,)))


async def find_row(conn: aiosqlite.Connection, memory_id: str) -> sqlite3.Row:
    """The row of a memory, live or deleted, by its short integer id (`42`, the rowid), its
    id or a unique prefix of it."""
    number = parse_num(memory_id)
    if number is not None:
        sql = f"SELECT {COLUMNS} FROM memories WHERE rowid = ?"
        async with conn.execute(sql, (number,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"no memory with id {memory_id}")
        return row
    key = check_id(memory_id)
    if len(key) == 36:
        sql = f"SELECT {COLUMNS} FROM memories WHERE id = ?"
        args: tuple[str, ...] = (key,)
    else:
        # A unique prefix is enough, as with git hashes.
        sql = f"SELECT {COLUMNS} FROM memories WHERE id >= ? AND id < ? LIMIT 2"
        args = (key, key + "z")
    async with conn.execute(sql, args) as cursor:
        rows = list(await cursor.fetchall())
    if not rows:
        raise NotFound(f"no memory with id {memory_id}")
    if len(rows) > 1:
        raise InvalidInput(f"id prefix {memory_id} is ambiguous; give more characters")
    return rows[0]


def live(memory: Memory) -> Memory:
    """`memory`, or NotFound if it was deleted."""
    if memory.deleted:
        raise NotFound(f"memory {memory.id} was deleted")
    return memory


async def find_live(conn: aiosqlite.Connection, memory_id: str) -> Memory:
    return live(memory_from_row(await find_row(conn, memory_id)))


_SAVE_CLOCK = (
    "INSERT INTO meta (key, value) VALUES ('hlc', ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


async def save_clock(conn: aiosqlite.Connection, last_hlc: int) -> None:
    """Persist the hybrid logical clock, in the transaction of the write it stamped: once,
    last, when the writer's transaction holds several writes (the clock only moves forward,
    so the last value saved is the highest)."""
    if isinstance(conn, WriterConnection) and conn.inline:
        conn.at_commit("hlc", _SAVE_CLOCK, (str(last_hlc),))
        return
    await conn.execute(_SAVE_CLOCK, (str(last_hlc),))


async def tombstone(conn: aiosqlite.Connection, memory_id: str, now_ms: int, hlc: int) -> None:
    """Delete a live memory: its text leaves the row and the index, its id and the delete's
    stamp stay so that the delete replicates and wins."""
    await conn.execute(
        "UPDATE memories SET content = NULL, secret = NULL, content_hash = NULL, "
        "tags = '[]', expanded_keywords = '', links = '[]', deleted_ms = ?, deleted_hlc = ? "
        "WHERE id = ?",
        (now_ms, hlc, memory_id),
    )
