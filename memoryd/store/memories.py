"""Memories: create, update, delete (tombstone), read, list, recall, import, export.

Every write is one transaction on the single writer. It stamps the changed fields with the
hybrid logical clock, persists the clock, and hands the change to `on_change` (the sync
outbox) inside the same transaction, so that state, clock and outbox never disagree.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import aiosqlite

from memory_core import merge
from memory_core.clock import Clock
from memory_core.crypto.aead import Cipher, memory_aad
from memory_core.crypto.detect import contains_secret, redact
from memory_core.errors import Conflict, InvalidInput, NotFound
from memory_core.hlc import HLC, wall_ms
from memory_core.ids import uuid7
from memory_core.model import (
    Memory,
    check_content,
    check_id,
    check_importance,
    check_keywords,
    check_project,
    normalize_category,
    normalize_for_dedup,
    parse_tags,
)
from memory_core.recall import fts, ranking
from memoryd.store.db import Database

ChangeKind = Literal["put", "del"]


@dataclass(frozen=True)
class Change:
    """What one write did to one memory, as sync needs it. `fields` holds plaintext values
    (sensitive content included): whoever persists a Change must encrypt what is sensitive."""

    entity_id: str
    kind: ChangeKind
    hlc: int
    fields: dict[str, Any]


ChangeSink = Callable[[aiosqlite.Connection, Change], Awaitable[None]]


@dataclass
class NewMemory:
    content: str
    category: str = "facts"
    tags: list[str] | str | None = None
    expanded_keywords: str = ""
    importance: float = 0.5
    force_sensitive: bool = False
    project: str | None = None
    source: str = "manual"
    # Import only: keep the identity and history of an exported memory.
    id: str | None = None
    created_ms: int | None = None
    updated_ms: int | None = None


@dataclass
class Patch:
    content: str | None = None
    category: str | None = None
    tags: list[str] | str | None = None
    expanded_keywords: str | None = None
    importance: float | None = None
    project: str | None = None
    clear_project: bool = False


@dataclass
class RecallQuery:
    context: str
    expanded_query: str = ""
    category: str | None = None
    project: str | None = None
    sort_by: Literal["relevance", "importance", "recency"] = "relevance"
    limit: int = 10
    include_sensitive: bool = True


@dataclass
class Created:
    memory: Memory
    duplicate_of: str | None = None


@dataclass
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    existing: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)


_SENSITIVE_MARGIN = 20

_COLUMNS = (
    "rowid, id, content, secret, category, tags, expanded_keywords, importance, is_sensitive, "
    "project, source, created_ms, updated_ms, deleted_ms, field_hlc"
)


def _memory(row: sqlite3.Row) -> Memory:
    return Memory(
        id=row["id"],
        content=row["content"],
        category=row["category"],
        tags=json.loads(row["tags"]),
        expanded_keywords=row["expanded_keywords"],
        importance=row["importance"],
        is_sensitive=bool(row["is_sensitive"]),
        project=row["project"],
        source=row["source"],
        created_ms=row["created_ms"],
        updated_ms=row["updated_ms"],
        deleted_ms=row["deleted_ms"],
        field_hlc=json.loads(row["field_hlc"]),
    )


_aad = memory_aad  # one definition of the binding, shared with `memory doctor`


def _indexable(text: str) -> str | None:
    """What of a sensitive memory may be searched: its words with every detected secret
    redacted. Content marked sensitive by the user, with nothing detected, is not indexed."""
    redacted = redact(text)
    return redacted if redacted != text else None


def _clean_metadata(tags: list[str], keywords: str) -> tuple[list[str], str, bool]:
    """Secrets never belong in indexed metadata: redact them there, and say so."""
    found = contains_secret(keywords) or any(contains_secret(t) for t in tags)
    if not found:
        return tags, keywords, False
    return [redact(t) for t in tags], redact(keywords), True


class MemoryStore:
    def __init__(
        self,
        db: Database,
        cipher: Cipher,
        clock: Clock,
        max_content_chars: int,
        on_change: ChangeSink | None = None,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.clock = clock
        self.max_content_chars = max_content_chars
        self.on_change = on_change
        self.hlc = HLC(clock)
        # The semantic leg, set by the daemon when memoryd[semantic] is installed and on.
        self.semantic: ranking.DenseIndex | None = None

    async def load_clock(self) -> None:
        async with (
            self.db.reader() as conn,
            conn.execute("SELECT value FROM meta WHERE key = 'hlc'") as cursor,
        ):
            row = await cursor.fetchone()
        self.hlc.last = max(self.hlc.last, int(row[0]) if row else 0)

    # ----------------------------------------------------------------- writes

    async def create(self, new: NewMemory) -> Created:
        content = check_content(new.content, self.max_content_chars)
        category = normalize_category(new.category)
        tags, keywords, secret_in_metadata = _clean_metadata(
            parse_tags(new.tags), check_keywords(new.expanded_keywords)
        )
        sensitive = new.force_sensitive or secret_in_metadata or contains_secret(content)
        fields: dict[str, Any] = {
            "content": content,
            "category": category,
            "tags": tags,
            "expanded_keywords": keywords,
            "importance": check_importance(new.importance),
            "is_sensitive": sensitive,
            "project": check_project(new.project),
            "source": new.source,
        }
        memory_id = check_id(new.id) if new.id else None

        async def job(conn: aiosqlite.Connection) -> Created:
            return await self._create_in(conn, fields, memory_id, new.created_ms, new.updated_ms)

        return await self.db.write(job)

    async def _create_in(
        self,
        conn: aiosqlite.Connection,
        fields: dict[str, Any],
        memory_id: str | None,
        created_ms: int | None,
        updated_ms: int | None,
    ) -> Created:
        fingerprint = self.cipher.fingerprint(normalize_for_dedup(fields["content"]))
        # One round trip to the writer thread per statement (execute_fetchall): the writer is
        # the one serial resource, and every hop holds it.
        found = await conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM memories WHERE content_hash = ? AND deleted_ms IS NULL "
            "ORDER BY created_ms LIMIT 1",
            (fingerprint,),
        )
        if found:
            existing = _memory(next(iter(found)))
            merged = {
                "tags": existing.tags + [t for t in fields["tags"] if t not in existing.tags],
                "importance": max(existing.importance, fields["importance"]),
                "expanded_keywords": _merge_words(
                    existing.expanded_keywords, fields["expanded_keywords"]
                ),
                "is_sensitive": existing.is_sensitive or fields["is_sensitive"],
            }
            changed = {k: v for k, v in merged.items() if getattr(existing, k) != v}
            if changed:
                existing = await self._put(conn, existing, changed, None)
            return Created(existing, duplicate_of=existing.id)

        now = self.clock.now_ms()
        new_id = memory_id or uuid7(now)
        # A fresh UUIDv7 cannot collide (74 random bits); only a given id is checked.
        if memory_id is not None and await conn.execute_fetchall(
            "SELECT 1 FROM memories WHERE id = ?", (new_id,)
        ):
            raise Conflict(f"a memory with id {new_id} already exists")
        created = created_ms or now
        blank = Memory.blank(
            new_id,
            category=fields["category"],
            source=fields["source"],
            created_ms=created,
            updated_ms=updated_ms or created,
        )
        memory = await self._put(conn, blank, fields, fields["content"], insert=True)
        return Created(memory)

    async def _put(
        self,
        conn: aiosqlite.Connection,
        current: Memory,
        changed: Mapping[str, Any],
        plaintext: str | None,
        insert: bool = False,
    ) -> Memory:
        """Write `changed` fields onto `current` (stamped with one new HLC) and emit the
        change. `plaintext` is the memory's content after the change."""
        hlc = self.hlc.send()
        memory = Memory(**{**current.__dict__, **changed})
        memory.field_hlc = {**current.field_hlc, **dict.fromkeys(changed, hlc)}
        if not insert:
            memory.updated_ms = max(self.clock.now_ms(), memory.created_ms)
        text = plaintext if plaintext is not None else await self._plaintext(current)
        await self._write_row(conn, memory, text, insert)
        await self._emit(conn, Change(memory.id, "put", hlc, dict(changed)))
        return memory

    async def _write_row(
        self, conn: aiosqlite.Connection, memory: Memory, text: str | None, insert: bool
    ) -> None:
        """Store `memory` with plaintext `text`: sensitive text sealed and only its redacted
        words indexed. `text` is None for content this machine never had (sealed by the hub)."""
        if text is not None:
            memory.content = _indexable(text) if memory.is_sensitive else text
        values = {
            "id": memory.id,
            "content": memory.content,
            "secret": (
                self.cipher.seal(text, _aad(memory.id))
                if memory.is_sensitive and text is not None
                else None
            ),
            "content_hash": (
                self.cipher.fingerprint(normalize_for_dedup(text)) if text is not None else None
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
            "field_hlc": json.dumps(memory.field_hlc, sort_keys=True),
        }
        if insert:
            names = ", ".join(values)
            marks = ", ".join(f":{k}" for k in values)
            await conn.execute(f"INSERT INTO memories ({names}) VALUES ({marks})", values)
        else:
            sets = ", ".join(f"{k} = :{k}" for k in values if k != "id")
            await conn.execute(f"UPDATE memories SET {sets} WHERE id = :id", values)

    async def _emit(self, conn: aiosqlite.Connection, change: Change) -> None:
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES ('hlc', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(self.hlc.last),),
        )
        if self.on_change is not None:
            await self.on_change(conn, change)

    async def _plaintext(self, memory: Memory) -> str:
        if not memory.is_sensitive:
            return memory.content or ""
        async with self.db.writer.execute(
            "SELECT secret FROM memories WHERE id = ?", (memory.id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None or row[0] is None:
            return ""
        return self.cipher.open(row[0], _aad(memory.id))

    async def update(self, memory_id: str, patch: Patch) -> Memory:
        changed: dict[str, Any] = {}
        if patch.content is not None:
            changed["content"] = check_content(patch.content, self.max_content_chars)
        if patch.category is not None:
            changed["category"] = normalize_category(patch.category)
        if patch.tags is not None:
            changed["tags"] = parse_tags(patch.tags)
        if patch.expanded_keywords is not None:
            changed["expanded_keywords"] = check_keywords(patch.expanded_keywords)
        if patch.importance is not None:
            changed["importance"] = check_importance(patch.importance)
        if patch.project is not None or patch.clear_project:
            changed["project"] = None if patch.clear_project else check_project(patch.project)
        if not changed:
            raise InvalidInput(
                "nothing to update: give content, category, tags, importance, "
                "expanded_keywords or project"
            )
        if "tags" in changed or "expanded_keywords" in changed:
            tags, keywords, secret = _clean_metadata(
                changed.get("tags", []), changed.get("expanded_keywords", "")
            )
            if "tags" in changed:
                changed["tags"] = tags
            if "expanded_keywords" in changed:
                changed["expanded_keywords"] = keywords
            if secret:
                changed["is_sensitive"] = True
        if "content" in changed and contains_secret(changed["content"]):
            changed["is_sensitive"] = True

        async def job(conn: aiosqlite.Connection) -> Memory:
            current = await self._live(conn, memory_id)
            plaintext = changed.get("content")
            if plaintext is None:
                plaintext = await self._plaintext(current)
            delta = {
                k: v
                for k, v in changed.items()
                if getattr(current, k) != v or (k == "content" and current.is_sensitive)
            }
            if "is_sensitive" in delta and current.is_sensitive:
                delta.pop("is_sensitive")  # sensitivity only ever escalates
            if not delta:
                return current
            return await self._put(conn, current, delta, plaintext)

        return await self.db.write(job)

    async def delete(self, memory_id: str) -> tuple[Memory, bool]:
        """Tombstone a memory: its text leaves the row and the index, its id stays so the
        delete can replicate and win. Returns the memory as it was, and whether it was live."""

        async def job(conn: aiosqlite.Connection) -> tuple[Memory, bool]:
            current = await self._any(conn, memory_id)
            if current.deleted:
                return current, False
            hlc = self.hlc.send()
            await conn.execute(
                "UPDATE memories SET content = NULL, secret = NULL, content_hash = NULL, "
                "tags = '[]', expanded_keywords = '', deleted_ms = ?, deleted_hlc = ? "
                "WHERE id = ?",
                (self.clock.now_ms(), hlc, current.id),
            )
            await self._emit(conn, Change(current.id, "del", hlc, {}))
            return current, True

        return await self.db.write(job)

    async def apply_remote(self, conn: aiosqlite.Connection, change: Change) -> bool:
        """Join a change pulled from the hub, inside the caller's transaction (sync applies a
        page and advances its cursor together). Per-field last-writer-wins by HLC; a delete is
        terminal; the clock moves past the remote stamp; nothing is emitted, the change is
        another replica's. Returns whether the row changed."""
        self.hlc.recv(change.hlc)
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES ('hlc', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(self.hlc.last),),
        )
        async with conn.execute(
            f"SELECT {_COLUMNS}, deleted_hlc FROM memories WHERE id = ?", (change.entity_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if change.kind == "del":
            return await self._apply_remote_delete(conn, change, row)
        if row is not None and row["deleted_ms"] is not None:
            return False  # deletes are terminal
        fields = merge.check_remote_fields(change.fields)
        stamp = wall_ms(change.hlc)
        if row is None:
            born = fields.get("created_ms", stamp)
            current = Memory.blank(change.entity_id, created_ms=born)
            text: str | None = None
        else:
            current = _memory(row)
            text = await self._plaintext(current) if "content" in current.field_hlc else None
        winners = {
            name: value
            for name, value in fields.items()
            if name != "created_ms"
            and merge.wins(
                change.hlc,
                value,
                current.field_hlc.get(name),
                text if name == "content" else getattr(current, name),
            )
        }
        created = min(current.created_ms, fields.get("created_ms", current.created_ms))
        if row is not None and not winners and created == current.created_ms:
            return False
        memory = Memory(**{**current.__dict__, **winners})
        memory.created_ms = created
        memory.field_hlc = {**current.field_hlc, **dict.fromkeys(winners, change.hlc)}
        memory.updated_ms = max(current.updated_ms, stamp if winners else 0, created)
        text = winners.get("content", text)
        await self._write_row(conn, memory, text, insert=row is None)
        return True

    async def _apply_remote_delete(
        self, conn: aiosqlite.Connection, change: Change, row: sqlite3.Row | None
    ) -> bool:
        now = self.clock.now_ms()
        if row is None:
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
        await conn.execute(
            "UPDATE memories SET content = NULL, secret = NULL, content_hash = NULL, "
            "tags = '[]', expanded_keywords = '', deleted_ms = ?, deleted_hlc = ? WHERE id = ?",
            (now, change.hlc, row["id"]),
        )
        return True

    async def import_many(self, items: list[NewMemory]) -> ImportResult:
        """Import in one transaction: all or nothing. Known ids are skipped, equal content
        merges into the existing memory (as a store would)."""
        prepared = []
        for index, new in enumerate(items):
            try:
                content = check_content(new.content, self.max_content_chars)
                tags, keywords, secret_meta = _clean_metadata(
                    parse_tags(new.tags), check_keywords(new.expanded_keywords)
                )
                prepared.append(
                    (
                        new,
                        {
                            "content": content,
                            "category": normalize_category(new.category),
                            "tags": tags,
                            "expanded_keywords": keywords,
                            "importance": check_importance(new.importance),
                            "is_sensitive": new.force_sensitive
                            or secret_meta
                            or contains_secret(content),
                            "project": check_project(new.project),
                            "source": new.source,
                        },
                    )
                )
            except InvalidInput as exc:
                raise type(exc)(f"item {index}: {exc.message}") from None  # keep the code

        async def job(conn: aiosqlite.Connection) -> ImportResult:
            result = ImportResult()
            for new, fields in prepared:
                if new.id:
                    async with conn.execute(
                        "SELECT 1 FROM memories WHERE id = ?", (check_id(new.id),)
                    ) as cursor:
                        if await cursor.fetchone() is not None:
                            result.existing += 1
                            result.results.append({"id": new.id, "status": "exists"})
                            continue
                created = await self._create_in(
                    conn, fields, new.id, new.created_ms, new.updated_ms
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

        return await self.db.write(job)

    # ----------------------------------------------------------------- reads

    async def _resolve(self, conn: aiosqlite.Connection, memory_id: str) -> sqlite3.Row:
        key = check_id(memory_id)
        if len(key) == 36:
            sql = f"SELECT {_COLUMNS} FROM memories WHERE id = ?"
            args: tuple[str, ...] = (key,)
        else:
            # A unique prefix is enough, as with git hashes.
            sql = f"SELECT {_COLUMNS} FROM memories WHERE id >= ? AND id < ? LIMIT 2"
            args = (key, key + "z")
        async with conn.execute(sql, args) as cursor:
            rows = list(await cursor.fetchall())
        if not rows:
            raise NotFound(f"no memory with id {memory_id}")
        if len(rows) > 1:
            raise InvalidInput(f"id prefix {memory_id} is ambiguous; give more characters")
        return rows[0]

    async def _any(self, conn: aiosqlite.Connection, memory_id: str) -> Memory:
        return _memory(await self._resolve(conn, memory_id))

    async def _live(self, conn: aiosqlite.Connection, memory_id: str) -> Memory:
        memory = await self._any(conn, memory_id)
        if memory.deleted:
            raise NotFound(f"memory {memory.id} was deleted")
        return memory

    async def get(self, memory_id: str) -> Memory:
        async with self.db.reader() as conn:
            return await self._live(conn, memory_id)

    async def secret(self, memory_id: str) -> tuple[Memory, str]:
        async with self.db.reader() as conn:
            row = await self._resolve(conn, memory_id)
        memory = _memory(row)
        if memory.deleted:
            raise NotFound(f"memory {memory.id} was deleted")
        if not memory.is_sensitive:
            return memory, memory.content or ""
        if row["secret"] is None:
            # Stored over the hub's REST API: the hub sealed the text with its own key and
            # synced only the metadata, so no machine but the hub can read it.
            raise Conflict(
                f"memory {memory.id} is sensitive and its content is held only by the hub "
                f"(stored over its REST API); read it there: POST /api/memories/{memory.id}/secret"
            )
        return memory, self.cipher.open(row["secret"], _aad(memory.id))

    async def page(
        self,
        category: str | None = None,
        tag: str | None = None,
        project: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[list[Memory], int]:
        where, args = ["deleted_ms IS NULL"], []
        if category:
            where.append("category = ?")
            args.append(normalize_category(category))
        if project:
            where.append("project = ?")
            args.append(project)
        if tag:
            where.append("EXISTS (SELECT 1 FROM json_each(memories.tags) WHERE value = ?)")
            args.append(tag.strip().lower())
        clause = " AND ".join(where)
        async with self.db.reader() as conn:
            async with conn.execute(
                f"SELECT {_COLUMNS} FROM memories WHERE {clause} "
                "ORDER BY updated_ms DESC, rowid DESC LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ) as cursor:
                rows = await cursor.fetchall()
            async with conn.execute(f"SELECT COUNT(*) FROM memories WHERE {clause}", args) as c:
                total_row = await c.fetchone()
        return [_memory(r) for r in rows], int(total_row[0]) if total_row else 0

    async def recall(self, query: RecallQuery) -> list[tuple[Memory, float]]:
        plan = fts.plan(query.context, query.expanded_query)
        nearest: asyncio.Task[ranking.DenseHits | None] | None = None
        if self.semantic is not None and query.sort_by == "relevance":
            # Embedding the query (a thread) overlaps the lexical query (another thread).
            text = f"{query.context} {query.expanded_query}".strip()
            nearest = asyncio.create_task(self.semantic.search(text, ranking.DENSE_POOL))
        if not plan.terms and nearest is None:
            return []
        filters, filter_args = ["m.deleted_ms IS NULL"], []
        inner, inner_args = "", []
        if query.category:
            category = normalize_category(query.category)
            filters.append("m.category = ?")
            filter_args.append(category)
            inner = "AND rowid IN (SELECT rowid FROM memories WHERE category = ?)"
            inner_args.append(category)
        if not query.include_sensitive:
            filters.append("m.is_sensitive = 0")
        columns = ", ".join("m." + c.strip() for c in _COLUMNS.split(","))
        weights = ", ".join(str(w) for w in ranking.BM25_WEIGHTS)
        pool = max(query.limit * ranking.POOL_FACTOR, ranking.POOL_MIN)
        # Sensitive rows are few: fetch a few more and drop them after the join.
        fetch = pool if query.include_sensitive else pool + _SENSITIVE_MARGIN
        rows: list[sqlite3.Row] = []
        dense_rows: list[sqlite3.Row] = []
        try:
            if plan.terms:
                # Rank inside the FTS table first, then join only the top rows: joining every
                # match before the sort costs most of the time on frequent words (1.5-3x).
                sql = (
                    f"SELECT {columns}, t.bm FROM ("
                    f"SELECT rowid, bm25(memories_fts, {weights}) AS bm FROM memories_fts "
                    f"WHERE memories_fts MATCH ? {inner} ORDER BY bm LIMIT ?"
                    ") t JOIN memories m ON m.rowid = t.rowid "
                    f"WHERE {' AND '.join(filters)} ORDER BY t.bm LIMIT ?"
                )
                async with self.db.reader() as conn:
                    match = await _match(conn, plan, pool)
                    args = (match, *inner_args, fetch, *filter_args, pool)
                    rows = list(await conn.execute_fetchall(sql, args))
        except BaseException:
            if nearest is not None:
                nearest.cancel()
            raise
        wanted = [fts.stem(t) for t in plan.terms]
        best_bm = min((r["bm"] for r in rows), default=0.0)
        lexical: dict[int, float] = {}
        for row in rows:
            text = " ".join((row["content"] or "", row["expanded_keywords"], row["tags"]))
            lexical[row["rowid"]] = ranking.text_relevance(
                text, row["bm"], best_bm, wanted, plan.weights
            )
        best_lexical = max(lexical.values(), default=0.0)
        # The query's embedding ran in its thread meanwhile (the lexical rescoring above is
        # Python on this one): wait for it only now.
        hits = await nearest if nearest is not None else None
        lexical_ids = {row["rowid"] for row in rows}
        missing = [r for r, _ in hits.top if r not in lexical_ids] if hits is not None else []
        if missing:
            marks = ", ".join("?" * len(missing))
            async with self.db.reader() as conn:
                dense_rows = list(
                    await conn.execute_fetchall(
                        f"SELECT {columns}, 0.0 AS bm FROM memories m "
                        f"WHERE m.rowid IN ({marks}) AND {' AND '.join(filters)}",
                        (*missing, *filter_args),
                    )
                )
        if not rows and not dense_rows:
            return []
        now = self.clock.now_ms()
        scored = []
        for row in rows + dense_rows:
            relevance = lexical.get(row["rowid"], 0.0)
            if hits is not None:
                # Every candidate's own cosine, not only the nearest's: a lexical match just
                # outside the dense top-k is not scored as if it were unrelated.
                relevance = ranking.fuse(
                    relevance, best_lexical, hits.cosine(row["rowid"]), hits.best
                )
            candidate = ranking.Candidate(
                relevance=relevance,
                importance=row["importance"],
                age_days=ranking.age_days(now, row["updated_ms"]),
                project=row["project"],
            )
            scored.append((row, ranking.score(candidate, query.project)))
        ranking.order(scored, query.sort_by)
        return [(_memory(row), s) for row, s in scored[: query.limit] if s > 0]

    async def count(self) -> int:
        async with (
            self.db.reader() as conn,
            conn.execute("SELECT COUNT(*) FROM memories WHERE deleted_ms IS NULL") as cursor,
        ):
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with self.db.reader() as conn:
            for column in ("category", "project", "source"):
                async with conn.execute(
                    f"SELECT COALESCE({column}, ''), COUNT(*) FROM memories "
                    f"WHERE deleted_ms IS NULL GROUP BY 1 ORDER BY 2 DESC"
                ) as cursor:
                    out[f"by_{column}"] = {k: n for k, n in await cursor.fetchall()}
            async with conn.execute(
                "SELECT COUNT(*) FILTER (WHERE deleted_ms IS NULL), "
                "COUNT(*) FILTER (WHERE deleted_ms IS NULL AND is_sensitive = 1), "
                "COUNT(*) FILTER (WHERE deleted_ms IS NOT NULL) FROM memories"
            ) as cursor:
                row = await cursor.fetchone()
        assert row is not None
        out["by_project"].pop("", None)
        out.update(total=row[0], sensitive=row[1], deleted=row[2], db_bytes=self.db.size_bytes())
        return out

    async def export(self, include_sensitive: bool) -> AsyncIterator[dict[str, Any]]:
        """Every live memory, oldest first, read in pages so memory use stays flat."""
        last = 0
        while True:
            async with (
                self.db.reader() as conn,
                conn.execute(
                    f"SELECT {_COLUMNS} FROM memories WHERE rowid > ? AND deleted_ms IS NULL "
                    "ORDER BY rowid LIMIT 500",
                    (last,),
                ) as cursor,
            ):
                rows = await cursor.fetchall()
            if not rows:
                return
            rows = list(rows)
            for row in rows:
                memory = _memory(row)
                content: str | None = memory.content
                if memory.is_sensitive:
                    content = (
                        self.cipher.open(row["secret"], _aad(memory.id))
                        if include_sensitive
                        else None
                    )
                yield {"memory": memory, "content": content}
            last = rows[-1]["rowid"]


async def _match(conn: aiosqlite.Connection, plan: fts.Plan, pool: int) -> str:
    """The plan's MATCH, narrowed to rows holding an uncommon word when its common words would
    make FTS5 rank many rows (fts.selective). Counting each word's rows is one cheap statement
    (FTS5 reads only their document lists), about a tenth of what ranking them costs."""
    if plan.phrase or len(plan.terms) < 2:
        return plan.match()
    counts = ", ".join(
        ["(SELECT count(*) FROM memories_fts WHERE memories_fts MATCH ?)"] * len(plan.terms)
    )
    sql = f"SELECT (SELECT count(*) FROM memories_fts_docsize), {counts}"
    (row,) = await conn.execute_fetchall(sql, [fts.quote(t) for t in plan.terms])
    indexed, *per_term = (int(n) for n in row)
    rare = fts.selective(plan.terms, per_term, indexed, pool)
    if rare == plan.terms:
        return plan.match()
    return f"({fts.match_any(rare)}) AND ({plan.match()})"


def _merge_words(old: str, new: str) -> str:
    words = old.split()
    seen = {w.lower() for w in words}
    for word in new.split():
        if word.lower() not in seen:
            seen.add(word.lower())
            words.append(word)
    return " ".join(words)
