"""REST operations on one user's memories. Each write becomes an op in the user's log (stamped
with the hub's own replica id), applied through the same join as pushed ops, so synced daemons
see it. Every statement names the user; row-level security backs that up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import asyncpg

from memory_core import writes
from memory_core.clock import Clock, iso_from_ms
from memory_core.crypto.detect import contains_secret
from memory_core.errors import EndToEndMode, InvalidInput, NotFound, SealedByClient
from memory_core.ids import uuid7
from memory_core.model import SENSITIVE_PLACEHOLDER, normalize_category
from memory_core.wire import rest, sync
from memory_hub import oplog, visibility
from memory_hub.db import user_tx
from memory_hub.ids import resolve_memory_id
from memory_hub.limits import Limits
from memory_hub.sealing import Sealer, binding

COLUMNS = (
    "id, content, secret IS NOT NULL AS hub_sealed, category, tags, expanded_keywords, "
    "importance, is_sensitive, project, source, created_ms, updated_ms, deleted_ms, supersedes, "
    "num, links"
)
# The answer's fields that their columns hold as they are (tags are an array, times ms).
_OUT_AS_STORED = (
    "id",
    "category",
    "expanded_keywords",
    "importance",
    "is_sensitive",
    "project",
    "source",
    "supersedes",
)

E2E_MESSAGE = (
    "this user syncs in end-to-end mode: the hub holds only ciphertext it cannot read, so it "
    "cannot serve memory content over REST. Use memoryd on a machine that has the key."
)


@dataclass
class Write:
    """A REST write ready for the log: the op's fields and, for a sensitive memory, its
    content as sealed by the hub (kept in the row only: plaintext never enters the log, and
    the hub cannot seal with the user's key)."""

    entity: str
    fields: dict[str, Any]
    secret: bytes | None = None
    kind: Literal["put", "del"] = "put"


@dataclass
class Hub:
    pool: asyncpg.Pool
    sealer: Sealer
    clock: Clock
    replica_id: str
    max_content_chars: int
    limits: Limits

    # ------------------------------------------------------------------------------ helpers

    def shown(self, row: asyncpg.Record) -> str:
        if row["is_sensitive"]:
            # The integer id: what the original's secret_get takes (its schema says integer).
            return SENSITIVE_PLACEHOLDER.format(id=row["num"])
        return str(row["content"] or "")

    async def _e2e_guard(self, conn: asyncpg.Connection, user: str) -> None:
        if await conn.fetchval("SELECT end_to_end FROM hub_users WHERE user_id = $1", user):
            raise EndToEndMode(E2E_MESSAGE)

    async def _row(self, conn: asyncpg.Connection, user: str, memory_id: str) -> asyncpg.Record:
        """The user's live memory named by its integer id or UUID; 404 otherwise."""
        found = await resolve_memory_id(conn, user, memory_id)
        row = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM memories WHERE user_id = $1 AND id = $2", user, found
        )
        assert row is not None, "resolved in this transaction"
        return row

    async def _replaced(self, conn: asyncpg.Connection, user: str, memory_id: str) -> str:
        """The UUID of the user's live memory (named by UUID or integer id) that a new one
        supersedes; 422 otherwise."""
        try:
            found = await resolve_memory_id(conn, user, memory_id, include_deleted=True)
        except NotFound:
            found = ""
        row = await conn.fetchrow(
            "SELECT id, deleted_ms FROM memories WHERE user_id = $1 AND id = $2", user, found
        )
        if row is None or row["deleted_ms"] is not None:
            state = "no memory" if row is None else "a deleted memory"
            raise InvalidInput(f"supersedes: {state} with id {memory_id!r}; nothing was stored")
        return str(row["id"])

    async def write(self, conn: asyncpg.Connection, user: str, batch: list[Write]) -> None:
        """Append the hub's own ops for REST writes (one per put, together) and keep the
        contents it sealed in their rows. Each put or delete is one op of the user's rate."""
        state = await oplog.lock_user(conn, user)
        self.limits.spend_ops(user, state.ops, len(batch))
        if state.end_to_end:
            raise EndToEndMode(E2E_MESSAGE)
        async with self.limits.storage(conn, user, all(w.kind == "del" for w in batch)):
            await self._append(conn, user, state, batch)

    async def _append(
        self, conn: asyncpg.Connection, user: str, state: oplog.UserRow, batch: list[Write]
    ) -> None:
        now = self.clock.now_ms()
        ops = []
        for item in batch:
            state.replica_seq += 1
            ops.append(
                sync.Op(
                    replica_id=self.replica_id,
                    replica_seq=state.replica_seq,
                    op_id=uuid7(now),
                    entity_id=item.entity,
                    hlc=oplog.next_hlc(state, now),
                    kind=item.kind,
                    field_mask=sorted(item.fields),
                    fields=item.fields,
                )
            )
        await oplog.append_many(conn, user, state, ops, now)
        await oplog.save_user(conn, user, state)
        sealed = [(user, item.entity, item.secret) for item in batch if item.secret is not None]
        if sealed:
            await conn.executemany(
                "UPDATE memories SET secret = $3 WHERE user_id = $1 AND id = $2", sealed
            )

    async def sealed(self, user: str, memory_id: str, fields: dict[str, Any]) -> Write:
        """A new memory's put; a sensitive content is sealed here, before any transaction
        (Vault is a network call)."""
        if not fields["is_sensitive"]:
            return Write(memory_id, fields)
        plain = {name: value for name, value in fields.items() if name != "content"}
        secret = await self.sealer.seal(fields["content"], binding(user, memory_id))
        return Write(memory_id, plain, secret)

    # ------------------------------------------------------------------------------- writes

    async def create(self, user: str, body: rest.MemoryIn) -> dict[str, Any]:
        fields = writes.new_memory(body, self.max_content_chars)
        now = self.clock.now_ms()
        write = await self.sealed(user, uuid7(now), {**fields, "created_ms": now})
        async with user_tx(self.pool, user) as conn:
            if body.supersedes is not None:
                write.fields["supersedes"] = await self._replaced(conn, user, body.supersedes)
            await self.write(conn, user, [write])
            num = await conn.fetchval(
                "SELECT num FROM memories WHERE user_id = $1 AND id = $2", user, write.entity
            )
        return {
            "id": write.entity,
            "num": num,
            "category": fields["category"],
            "importance": fields["importance"],
            "is_sensitive": fields["is_sensitive"],
        }

    async def update(self, user: str, memory_id: str, patch: rest.MemoryPatch) -> dict[str, Any]:
        cleared = "project" in patch.model_fields_set and patch.project is None
        changed = writes.patch(patch, self.max_content_chars, clear_project=cleared)
        async with user_tx(self.pool, user) as conn:
            row = await self._row(conn, user, memory_id)
            write = Write(row["id"], changed)
            if row["is_sensitive"]:
                changed.pop("is_sensitive", None)  # sensitivity only ever escalates
            # A sensitive memory's content is sealed: new content of one that is or becomes
            # sensitive, and the content a secret in its tags or keywords now makes sensitive.
            plaintext = changed.pop("content", None)
            if plaintext is None and changed.get("is_sensitive"):
                plaintext = row["content"]
            if plaintext is not None and (row["is_sensitive"] or changed.get("is_sensitive")):
                write.secret = await self.sealer.seal(plaintext, binding(user, row["id"]))
                # The log learns that the memory changed, never what its content became.
                changed.setdefault("is_sensitive", True)
            elif plaintext is not None:
                changed["content"] = plaintext
            await self.write(conn, user, [write])
            return self.out(await self._row(conn, user, row["id"]))

    async def delete(self, user: str, memory_id: str) -> dict[str, Any]:
        async with user_tx(self.pool, user) as conn:
            found = await resolve_memory_id(conn, user, memory_id, include_deleted=True)
            row = await conn.fetchrow(
                f"SELECT {COLUMNS} FROM memories WHERE user_id = $1 AND id = $2", user, found
            )
            assert row is not None, "resolved in this transaction"
            named = {"deleted": row["num"], "uuid": row["id"]}
            if row["deleted_ms"] is not None:
                return {**named, "preview": "[already deleted]"}
            preview = self.shown(row)[:50]
            await self.write(conn, user, [Write(row["id"], {}, kind="del")])
            return {**named, "preview": preview}

    # -------------------------------------------------------------------------------- reads

    def out(self, row: asyncpg.Record) -> dict[str, Any]:
        """A memory in memoryd's typed shape and its integer id as `num` (memory_hub.original
        turns it into the original's shape)."""
        typed = rest.MemoryOut(
            **{name: row[name] for name in _OUT_AS_STORED},
            content=self.shown(row),
            tags=list(row["tags"]),
            created_at=iso_from_ms(row["created_ms"]),
            updated_at=iso_from_ms(row["updated_ms"]),
        ).model_dump()
        return {**typed, "num": row["num"]}

    async def get(self, user: str, memory_id: str) -> dict[str, Any]:
        async with user_tx(self.pool, user) as conn:
            await self._e2e_guard(conn, user)
            return self.out(await self._row(conn, user, memory_id))

    async def page(self, user: str, query: rest.ListQuery) -> dict[str, Any]:
        """A page of live memories, newest change first (the daemon's order)."""
        where, args = ["user_id = $1", "deleted_ms IS NULL"], [user]
        if query.category:
            args.append(normalize_category(query.category))
            where.append(f"category = ${len(args)}")
        if query.tag:
            args.append(" ".join(query.tag.split()).lower())
            where.append(f"${len(args)} = ANY(tags)")
        if query.project:
            args.append(query.project)
            where.append(f"project = ${len(args)}")
        async with user_tx(self.pool, user) as conn:
            await self._e2e_guard(conn, user)
            # Memories other users share with this one too (memory_hub.sharing), if any.
            shared = query.shared and await visibility.has_incoming(conn, user)
            where[0] = visibility.visible("memories", "$1", shared)
            clause = " AND ".join(where)
            rows = await conn.fetch(
                f"SELECT {COLUMNS}, user_id FROM memories WHERE {clause} ORDER BY updated_ms "
                f"DESC, id DESC LIMIT {query.limit} OFFSET {query.offset}",
                *args,
            )
            total = await conn.fetchval(f"SELECT count(*) FROM memories WHERE {clause}", *args)
        out = [visibility.marked(self.out(r), r["user_id"], user) for r in rows]
        return {"memories": out, "total": total}

    async def secret(self, user: str, memory_id: str) -> dict[str, Any]:
        async with user_tx(self.pool, user) as conn:
            await self._e2e_guard(conn, user)
            row = await self._row(conn, user, memory_id)
            blob = await conn.fetchval(
                "SELECT secret FROM memories WHERE user_id = $1 AND id = $2", user, row["id"]
            )
        # The original's client prints `#id [category] content`.
        named = {"id": row["num"], "uuid": row["id"], "category": row["category"]}
        if not row["is_sensitive"]:
            return {
                **named,
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
        return {**named, "content": content, "is_sensitive": True, "source": self.sealer.name}

    async def feed(
        self,
        user: str,
        since_ms: int | None,
        after: tuple[int, str] | None = None,
        limit: int | None = None,
    ) -> tuple[list[dict[str, Any]], tuple[int, str] | None]:
        """The original project's incremental feed (`updated_at > since`, deletions included),
        in `(updated_ms, id)` order. Kept for its clients, which read it whole; `after` and
        `limit` page it for clients that opt in. memoryd uses the op log, which cannot skip
        late commits. With a `limit`, also answers where the next page starts, `(updated_ms,
        id)` of its last row, or None when this page is the last."""
        where: list[str] = ["user_id = $1"]
        args: list[object] = [user]
        if since_ms is None:
            where.append("deleted_ms IS NULL")
        else:
            args.append(since_ms)
            where.append(f"updated_ms > ${len(args)}")
        if after is not None:
            args.extend(after)
            where.append(f"(updated_ms, id) > (${len(args) - 1}, ${len(args)})")
        page = ""
        if limit is not None:
            args.append(limit + 1)  # one more row tells whether a next page exists
            page = f" LIMIT ${len(args)}"
        async with user_tx(self.pool, user) as conn:
            await self._e2e_guard(conn, user)
            rows = await conn.fetch(
                f"SELECT {COLUMNS} FROM memories WHERE {' AND '.join(where)} "
                f"ORDER BY updated_ms, id{page}",
                *args,
            )
        following = None
        if limit is not None and len(rows) > limit:
            rows = rows[:limit]
            following = (rows[-1]["updated_ms"], rows[-1]["id"])
        out = []
        for row in rows:
            item = self.out(row)
            item["deleted_at"] = (
                iso_from_ms(row["deleted_ms"]) if row["deleted_ms"] is not None else None
            )
            out.append(item)
        return out, following

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
                await self.write(conn, user, [Write(memory_id, {"is_sensitive": True}, blob)])
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
