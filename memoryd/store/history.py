"""A memory's history and the trash: reading the versions the triggers of migration 10 record
(memoryd.store.history_schema), restoring a deleted memory, marking one as superseded, and
pruning by age.

A delete is terminal for its id (a tombstone replicates and wins everywhere), so a restore is
a new write: a new memory with the deleted one's fields, stamped with a newer HLC and sent to
sync like any other store. The trash entry then names it (`restored_as`). It comes back with
the typed links its entry recorded (migration 18) to memories that are still live; a link to a
memory deleted since is dropped, and the answer names it. Links from other memories to the
deleted one are not re-pointed: they name its old id.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from memory_core import links as link_rule
from memory_core import writes as rule
from memory_core.errors import InvalidInput, NotFound
from memory_core.model import Memory
from memoryd.store import succession, writes
from memoryd.store.history_schema import CURRENT_SNAPSHOT
from memoryd.store.links import live_ids
from memoryd.store.memories import MemoryStore, NewMemory
from memoryd.store.origin import write_origin
from memoryd.store.rows import find_live, open_sealed

DAY_MS = 86_400_000
TRASH_DAYS = 30  # a deleted memory can be restored for this long
HISTORY_DAYS = 180  # older versions of live memories are dropped after this
MAX_TRASH = 5_000  # and the trash never holds more than this many entries


@dataclass(frozen=True)
class Version:
    seq: int
    memory_id: str
    at_ms: int
    action: str
    origin: str
    replica: str | None
    changed: list[str]
    fields: dict[str, Any]
    restored_as: str | None

    @classmethod
    def of(cls, row: Any) -> Version:
        return cls(
            seq=row["seq"],
            memory_id=row["memory_id"],
            at_ms=row["at_ms"],
            action=row["action"],
            origin=row["origin"],
            replica=row["replica"],
            changed=list(json.loads(row["changed"])),
            fields=dict(json.loads(row["snapshot"])),
            restored_as=row["restored_as"],
        )

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class Restored:
    """A memory restored from the trash, and the links of its entry it did not get back
    (`{"id", "type"}`, sorted): their targets are deleted (or, when the restore merged into
    a live memory with the same text, that memory was kept as it was)."""

    memory: Memory
    links_dropped: list[dict[str, str]]


def _recorded_links(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """A version's outgoing links as `(type, id)` pairs, `supersedes` included; none for a
    version recorded before migration 18 (no `links`: unknown, not empty)."""
    pairs = [(str(kind), str(dst)) for kind, dst in fields.get("links") or []]
    if fields.get("supersedes"):
        pairs.append((link_rule.SUPERSEDES, str(fields["supersedes"])))
    return sorted(pairs)


_COLUMNS = "seq, memory_id, at_ms, action, origin, replica, changed, snapshot, restored_as"


class History:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def local_replica(self) -> str | None:
        async with self.store.db.reader() as conn:
            rows = list(
                await conn.execute_fetchall("SELECT replica_id FROM sync_state WHERE id = 1")
            )
        return str(rows[0][0]) if rows else None

    async def versions(self, memory_id: str) -> list[Version]:
        """The memory's recorded versions, newest first (404 for an id that names nothing)."""
        async with self.store.db.reader() as conn:
            found = list(
                await conn.execute_fetchall(
                    f"SELECT {CURRENT_SNAPSHOT} FROM memories WHERE id = ?", (memory_id,)
                )
            )
            if not found:
                raise NotFound(f"no memory with id {memory_id!r}")
            rows = await conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM memory_history WHERE memory_id = ? ORDER BY seq DESC",
                (memory_id,),
            )
        versions = [Version.of(r) for r in rows]
        # A creation not followed by any change is recorded without its fields: the row's.
        current = dict(json.loads(found[0][0]))
        return [
            dataclasses.replace(v, fields=current) if v.action == "created" and not v.fields else v
            for v in versions
        ]

    async def superseded_by(self, memory_id: str) -> str | None:
        return (await self.store.successors([memory_id])).get(memory_id)

    async def trash(self, limit: int) -> list[Version]:
        """Deleted memories that can be restored, newest delete first."""
        cutoff = self.store.clock.now_ms() - TRASH_DAYS * DAY_MS
        async with self.store.db.reader() as conn:
            rows = await conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM memory_history WHERE action = 'deleted' "
                "AND restored_as IS NULL AND at_ms >= ? ORDER BY at_ms DESC, seq DESC LIMIT ?",
                (cutoff, limit),
            )
        return [Version.of(r) for r in rows]

    async def restore(self, seq: int) -> Restored:
        """A new memory with the fields and live links of trash entry `seq` (404 when there
        is none, 422 when it was restored already)."""
        async with self.store.db.reader() as conn:
            rows = list(
                await conn.execute_fetchall(
                    f"SELECT {_COLUMNS}, secret FROM memory_history "
                    "WHERE seq = ? AND action = 'deleted'",
                    (seq,),
                )
            )
        if not rows:
            raise NotFound(f"no trash entry {seq}")
        entry, secret = Version.of(rows[0]), rows[0]["secret"]
        if entry.restored_as is not None:
            raise InvalidInput(f"trash entry {seq} was restored already, as {entry.restored_as}")
        fields = entry.fields
        content = fields.get("content")
        if fields.get("is_sensitive"):
            if secret is None:
                raise InvalidInput(f"trash entry {seq} holds no text to restore")
            content = open_sealed(self.store.cipher, entry.memory_id, secret)
        new = NewMemory(
            content=str(content or ""),
            category=fields["category"],
            tags=list(fields.get("tags") or []),
            expanded_keywords=fields.get("expanded_keywords") or "",
            importance=float(fields["importance"]),
            force_sensitive=bool(fields.get("is_sensitive")),
            project=fields.get("project"),
            source=fields.get("source") or "manual",
        )
        recorded = _recorded_links(fields)

        async def job(conn: aiosqlite.Connection) -> Restored:
            chosen = rule.new_memory(new, self.store.max_content_chars)
            # Only links to memories still there. None can close a cycle: nothing links to
            # the new id yet.
            live = await live_ids(conn, [dst for _, dst in recorded])
            kept = [(kind, dst) for kind, dst in recorded if dst in live]
            for kind, dst in kept:
                if kind == link_rule.SUPERSEDES:
                    chosen["supersedes"] = dst
            listed = [[kind, dst] for kind, dst in kept if kind != link_rule.SUPERSEDES]
            if listed:
                chosen["links"] = listed
            async with write_origin(conn, "restore"):
                created = await writes.create_in(self.store, conn, chosen, None, None, None)
            await conn.execute(
                "UPDATE memory_history SET restored_as = ? WHERE seq = ?",
                (created.memory.id, seq),
            )
            has = _recorded_links(
                {"links": created.memory.links, "supersedes": created.memory.supersedes}
            )
            dropped = [(kind, dst) for kind, dst in recorded if (kind, dst) not in has]
            return Restored(created.memory, [{"id": d, "type": k} for k, d in dropped])

        restored: Restored = await self.store.db.write(job)
        if self.store.semantic is not None:
            self.store.semantic.written()
        return restored

    async def mark_superseded(self, memory_id: str, by: str) -> Memory:
        """Mark `memory_id` as replaced by the live memory `by` (its `supersedes` is set: a
        write on `by`, replicated like any other)."""

        async def job(conn: aiosqlite.Connection) -> Memory:
            older = await succession.check_target(conn, memory_id)
            newer = await find_live(conn, by)
            if newer.id == older:
                raise InvalidInput("a memory cannot supersede itself")
            if newer.supersedes == older:
                return newer
            return await writes.put_fields(self.store, conn, newer, {"supersedes": older}, None)

        return await self.store.db.write(job)

    async def empty_trash(self) -> int:
        """Forget every trash entry now: their text is gone for good."""

        async def job(conn: aiosqlite.Connection) -> int:
            cursor = await conn.execute("DELETE FROM memory_history WHERE action = 'deleted'")
            return cursor.rowcount

        return await self.store.db.write(job)

    async def prune(self) -> int:
        """Drop trash entries past TRASH_DAYS (and past MAX_TRASH), and versions past
        HISTORY_DAYS."""
        now = self.store.clock.now_ms()

        async def job(conn: aiosqlite.Connection) -> int:
            gone = await conn.execute(
                "DELETE FROM memory_history WHERE (action = 'deleted' AND at_ms < ?) "
                "OR (action != 'deleted' AND at_ms < ?)",
                (now - TRASH_DAYS * DAY_MS, now - HISTORY_DAYS * DAY_MS),
            )
            over = await conn.execute(
                "DELETE FROM memory_history WHERE action = 'deleted' AND seq NOT IN "
                "(SELECT seq FROM memory_history WHERE action = 'deleted' "
                "ORDER BY seq DESC LIMIT ?)",
                (MAX_TRASH,),
            )
            return gone.rowcount + over.rowcount

        return await self.store.db.write(job)
