"""REST operations on one user's memories. Each write becomes an op in the user's log (stamped
with the hub's own replica id), applied through the same join as pushed ops, so synced daemons
see it. Every statement names the user; row-level security backs that up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from memory_core.clock import Clock
from memory_core.crypto.detect import contains_secret, redact
from memory_core.errors import EndToEndMode, InvalidInput, NotFound, SealedByClient
from memory_core.ids import uuid7
from memory_core.model import (
    SENSITIVE_PLACEHOLDER,
    check_content,
    check_id,
    check_importance,
    check_keywords,
    check_project,
    normalize_category,
    parse_tags,
)
from memory_core.wire import rest, sync
from memory_hub import oplog
from memory_hub.db import user_tx
from memory_hub.sealing import Sealer, binding

COLUMNS = (
    "id, content, secret IS NOT NULL AS hub_sealed, category, tags, expanded_keywords, "
    "importance, is_sensitive, project, source, created_ms, updated_ms, deleted_ms, supersedes"
)

E2E_MESSAGE = (
    "this user syncs in end-to-end mode: the hub holds only ciphertext it cannot read, so it "
    "cannot serve memory content over REST. Use memoryd on a machine that has the key."
)


@dataclass
class Hub:
    pool: asyncpg.Pool
    sealer: Sealer
    clock: Clock
    replica_id: str
    max_content_chars: int

    # ------------------------------------------------------------------------------ helpers

    def shown(self, row: asyncpg.Record) -> str:
        if row["is_sensitive"]:
            return SENSITIVE_PLACEHOLDER.format(id=row["id"])
        return str(row["content"] or "")

    async def _e2e_guard(self, conn: asyncpg.Connection, user: str) -> None:
        if await conn.fetchval("SELECT end_to_end FROM hub_users WHERE user_id = $1", user):
            raise EndToEndMode(E2E_MESSAGE)

    async def _row(self, conn: asyncpg.Connection, user: str, memory_id: str) -> asyncpg.Record:
        row = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM memories WHERE user_id = $1 AND id = $2",
            user,
            check_id(memory_id),
        )
        if row is None or row["deleted_ms"] is not None:
            raise NotFound(f"no memory with id {memory_id!r}")
        return row

    async def _replaced(self, conn: asyncpg.Connection, user: str, memory_id: str) -> str:
        """The id of the user's live memory that a new one supersedes; 422 otherwise."""
        row = await conn.fetchrow(
            "SELECT id, deleted_ms FROM memories WHERE user_id = $1 AND id = $2",
            user,
            memory_id.strip().lower(),
        )
        if row is None or row["deleted_ms"] is not None:
            state = "no memory" if row is None else "a deleted memory"
            raise InvalidInput(f"supersedes: {state} with id {memory_id!r}; nothing was stored")
        return str(row["id"])

    async def _write(
        self, conn: asyncpg.Connection, user: str, entity: str, kind: str, fields: dict[str, Any]
    ) -> int:
        """Append the hub's own op for a REST write; returns its seq."""
        state = await oplog.lock_user(conn, user)
        if state.end_to_end:
            raise EndToEndMode(E2E_MESSAGE)
        state.replica_seq += 1
        now = self.clock.now_ms()
        op = sync.Op(
            replica_id=self.replica_id,
            replica_seq=state.replica_seq,
            op_id=uuid7(now),
            entity_id=entity,
            hlc=oplog.next_hlc(state, now),
            kind="del" if kind == "del" else "put",
            field_mask=sorted(fields),
            fields=fields,
        )
        ack = await oplog.append(conn, user, state, op, now)
        await oplog.save_user(conn, user, state)
        return ack.seq or 0

    async def _prepare(
        self, user: str, memory_id: str, content: str, force: bool
    ) -> tuple[bool, bytes | None]:
        """Detects secrets; a sensitive content is sealed before the transaction starts."""
        sensitive = force or contains_secret(content)
        if not sensitive:
            return False, None
        return True, await self.sealer.seal(content, binding(user, memory_id))

    @staticmethod
    def _metadata(tags: list[str], keywords: str) -> tuple[list[str], str]:
        # Secrets never belong in indexed metadata.
        return [redact(t) for t in tags], redact(keywords)

    # ------------------------------------------------------------------------------- writes

    async def create(
        self,
        user: str,
        body: rest.MemoryIn,
        source: str | None = None,
        memory_id: str | None = None,
        created_ms: int | None = None,
    ) -> dict[str, Any]:
        content = check_content(body.content, self.max_content_chars)
        category = normalize_category(body.category)
        tags, keywords = self._metadata(
            parse_tags(body.tags), check_keywords(body.expanded_keywords)
        )
        new_id = memory_id or uuid7(self.clock.now_ms())
        sensitive, secret = await self._prepare(user, new_id, content, body.force_sensitive)
        fields: dict[str, Any] = {
            "category": category,
            "tags": tags,
            "expanded_keywords": keywords,
            "importance": check_importance(body.importance),
            "is_sensitive": sensitive,
            "project": check_project(body.project),
            "source": source or body.source,
            "created_ms": created_ms or self.clock.now_ms(),
        }
        if not sensitive:
            fields["content"] = content
        async with user_tx(self.pool, user) as conn:
            if body.supersedes is not None:
                fields["supersedes"] = await self._replaced(conn, user, body.supersedes)
            await self._write(conn, user, new_id, "put", fields)
            if secret is not None:
                await conn.execute(
                    "UPDATE memories SET secret = $3 WHERE user_id = $1 AND id = $2",
                    user,
                    new_id,
                    secret,
                )
        return {
            "id": new_id,
            "category": category,
            "importance": fields["importance"],
            "is_sensitive": sensitive,
        }

    async def update(self, user: str, memory_id: str, patch: rest.MemoryPatch) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        secret: bytes | None = None
        if patch.content is not None:
            content = check_content(patch.content, self.max_content_chars)
            sensitive, secret = await self._prepare(user, check_id(memory_id), content, False)
            if sensitive:
                fields["is_sensitive"] = True
            else:
                fields["content"] = content
        if patch.category is not None:
            fields["category"] = normalize_category(patch.category)
        if patch.tags is not None:
            fields["tags"] = self._metadata(parse_tags(patch.tags), "")[0]
        if patch.expanded_keywords is not None:
            fields["expanded_keywords"] = redact(check_keywords(patch.expanded_keywords))
        if patch.importance is not None:
            fields["importance"] = check_importance(patch.importance)
        if "project" in patch.model_fields_set:
            fields["project"] = check_project(patch.project)
        async with user_tx(self.pool, user) as conn:
            row = await self._row(conn, user, memory_id)
            if not fields:
                raise InvalidInput("nothing to update: send at least one field")
            if row["is_sensitive"] and "content" in fields:
                # Once sensitive, always sealed: new content of a sensitive memory is sealed too.
                secret = await self.sealer.seal(fields.pop("content"), binding(user, row["id"]))
            await self._write(conn, user, row["id"], "put", fields)
            if secret is not None:
                await conn.execute(
                    "UPDATE memories SET secret = $3 WHERE user_id = $1 AND id = $2",
                    user,
                    row["id"],
                    secret,
                )
            return self.out(await self._row(conn, user, row["id"]))

    async def delete(self, user: str, memory_id: str) -> dict[str, Any]:
        async with user_tx(self.pool, user) as conn:
            row = await conn.fetchrow(
                f"SELECT {COLUMNS} FROM memories WHERE user_id = $1 AND id = $2",
                user,
                check_id(memory_id),
            )
            if row is None:
                raise NotFound(f"no memory with id {memory_id!r}")
            if row["deleted_ms"] is not None:
                return {"deleted": row["id"], "preview": "[already deleted]"}
            preview = self.shown(row)[:50]
            await self._write(conn, user, row["id"], "del", {})
            return {"deleted": row["id"], "preview": preview}

    # -------------------------------------------------------------------------------- reads

    def out(self, row: asyncpg.Record) -> dict[str, Any]:
        from memory_core.clock import iso_from_ms

        return rest.MemoryOut(
            id=row["id"],
            content=self.shown(row),
            category=row["category"],
            tags=list(row["tags"]),
            expanded_keywords=row["expanded_keywords"],
            importance=row["importance"],
            is_sensitive=row["is_sensitive"],
            project=row["project"],
            source=row["source"],
            created_at=iso_from_ms(row["created_ms"]),
            updated_at=iso_from_ms(row["updated_ms"]),
            supersedes=row["supersedes"],
        ).model_dump()

    async def get(self, user: str, memory_id: str) -> dict[str, Any]:
        async with user_tx(self.pool, user) as conn:
            await self._e2e_guard(conn, user)
            return self.out(await self._row(conn, user, memory_id))

    async def page(
        self,
        user: str,
        category: str | None,
        tag: str | None,
        project: str | None,
        limit: int,
        offset: int,
    ) -> dict[str, Any]:
        where, args = ["user_id = $1", "deleted_ms IS NULL"], [user]
        if category:
            args.append(normalize_category(category))
            where.append(f"category = ${len(args)}")
        if tag:
            args.append(" ".join(tag.split()).lower())
            where.append(f"${len(args)} = ANY(tags)")
        if project:
            args.append(project.strip())
            where.append(f"project = ${len(args)}")
        clause = " AND ".join(where)
        async with user_tx(self.pool, user) as conn:
            await self._e2e_guard(conn, user)
            rows = await conn.fetch(
                f"SELECT {COLUMNS} FROM memories WHERE {clause} "
                f"ORDER BY importance DESC, updated_ms DESC, id LIMIT {limit} OFFSET {offset}",
                *args,
            )
            total = await conn.fetchval(f"SELECT count(*) FROM memories WHERE {clause}", *args)
        return {"memories": [self.out(r) for r in rows], "total": total}

    async def secret(self, user: str, memory_id: str) -> dict[str, Any]:
        async with user_tx(self.pool, user) as conn:
            await self._e2e_guard(conn, user)
            row = await self._row(conn, user, memory_id)
            blob = await conn.fetchval(
                "SELECT secret FROM memories WHERE user_id = $1 AND id = $2", user, row["id"]
            )
        if not row["is_sensitive"]:
            return {
                "id": row["id"],
                "content": row["content"],
                "is_sensitive": False,
                "source": "plaintext",
            }
        if blob is None:
            raise SealedByClient(
                "this memory's content was encrypted by a memoryd replica with the user's key; "
                "the hub cannot read it. Read it with `memory show` on a machine with the key."
            )
        content = await self.sealer.open(bytes(blob), binding(user, row["id"]))
        return {
            "id": row["id"],
            "content": content,
            "is_sensitive": True,
            "source": self.sealer.name,
        }

    async def feed(self, user: str, since_ms: int | None) -> list[dict[str, Any]]:
        """The original project's incremental feed (`updated_at > since`, deletions included).
        Kept for its clients; memoryd uses the op log, which cannot skip late commits."""
        from memory_core.clock import iso_from_ms

        async with user_tx(self.pool, user) as conn:
            await self._e2e_guard(conn, user)
            if since_ms is None:
                rows = await conn.fetch(
                    f"SELECT {COLUMNS} FROM memories WHERE user_id = $1 AND deleted_ms IS NULL "
                    "ORDER BY updated_ms",
                    user,
                )
            else:
                rows = await conn.fetch(
                    f"SELECT {COLUMNS} FROM memories WHERE user_id = $1 AND updated_ms > $2 "
                    "ORDER BY updated_ms",
                    user,
                    since_ms,
                )
        out = []
        for row in rows:
            item = self.out(row)
            item["deleted_at"] = (
                iso_from_ms(row["deleted_ms"]) if row["deleted_ms"] is not None else None
            )
            out.append(item)
        return out

    async def stats(self, user: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with user_tx(self.pool, user) as conn:
            for column in ("category", "project", "source"):
                rows = await conn.fetch(
                    f"SELECT COALESCE({column}, '') AS k, count(*) AS n FROM memories "
                    f"WHERE user_id = $1 AND deleted_ms IS NULL GROUP BY 1 ORDER BY 2 DESC",
                    user,
                )
                out[f"by_{column}"] = {r["k"]: r["n"] for r in rows}
            row = await conn.fetchrow(
                "SELECT count(*) FILTER (WHERE deleted_ms IS NULL) AS total, "
                "count(*) FILTER (WHERE deleted_ms IS NULL AND is_sensitive) AS sensitive, "
                "count(*) FILTER (WHERE deleted_ms IS NOT NULL) AS deleted "
                "FROM memories WHERE user_id = $1",
                user,
            )
            head = await oplog.head_seq(conn, user)
        assert row is not None
        out["by_project"].pop("", None)
        out.update(
            total=row["total"], sensitive=row["sensitive"], deleted=row["deleted"], head_seq=head
        )
        return out

    async def migrate_secrets(self, user: str) -> int:
        """Seal the content of the user's plaintext memories that hold secrets, and strip that
        content from the earlier ops in the log."""
        async with user_tx(self.pool, user) as conn:
            await self._e2e_guard(conn, user)
            rows = await conn.fetch(
                "SELECT id, content FROM memories WHERE user_id = $1 AND deleted_ms IS NULL "
                "AND NOT is_sensitive AND content IS NOT NULL",
                user,
            )
        found = [(r["id"], r["content"]) for r in rows if contains_secret(r["content"])]
        for memory_id, content in found:
            blob = await self.sealer.seal(content, binding(user, memory_id))
            async with user_tx(self.pool, user) as conn:
                await self._write(conn, user, memory_id, "put", {"is_sensitive": True})
                await conn.execute(
                    "UPDATE memories SET secret = $3 WHERE user_id = $1 AND id = $2",
                    user,
                    memory_id,
                    blob,
                )
                await conn.execute(
                    "UPDATE ops SET fields = fields - 'content', "
                    "field_mask = array_remove(field_mask, 'content') "
                    "WHERE user_id = $1 AND entity_id = $2 AND fields ? 'content'",
                    user,
                    memory_id,
                )
                await conn.execute(
                    "DELETE FROM ops WHERE user_id = $1 AND entity_id = $2 AND kind = 'put' "
                    "AND cardinality(field_mask) = 0",
                    user,
                    memory_id,
                )
        return len(found)

    async def exists(self, user: str, memory_id: str) -> bool:
        async with user_tx(self.pool, user) as conn:
            found = await conn.fetchval(
                "SELECT 1 FROM memories WHERE user_id = $1 AND id = $2", user, memory_id
            )
        return found is not None
