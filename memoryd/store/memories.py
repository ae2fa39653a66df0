"""The local store of memories, on SQLite: `MemoryStore`, and the values it takes and returns.

Each job lives in its own module: writes (create, update, delete), replication (applying a
change pulled from the hub), reads, recall, transfer (import and export) and stats; `rows`
holds the row format they share. Every write is one transaction on the single writer, and
hands its change to `on_change` (the sync outbox) inside that transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiosqlite

from memory_core.clock import Clock
from memory_core.crypto.aead import Cipher
from memory_core.hlc import HLC
from memory_core.model import Memory
from memory_core.recall import ranking
from memory_core.wire.rest import ListQuery
from memoryd.store import integrity, links, reads, replication, succession, transfer, writes
from memoryd.store.backend import BackendHealth, MemoryBackend
from memoryd.store.db import Database
from memoryd.store.recall import InFlight, run_recall
from memoryd.store.records import (
    Change,
    ChangeKind,
    ChangeSink,
    Created,
    ImportResult,
    Link,
    LinksOf,
    NewMemory,
    Patch,
    Recalled,
    RecallQuery,
)
from memoryd.store.stats import count_live, summary
from memoryd.store.word_counts import WordCounts

# The values are defined in `records`; callers import them from here, with the store.
__all__ = [
    "Change",
    "ChangeKind",
    "ChangeSink",
    "Created",
    "ImportResult",
    "MemoryStore",
    "NewMemory",
    "Patch",
    "RecallQuery",
    "Recalled",
]


class MemoryStore(MemoryBackend):
    def __init__(
        self,
        db: Database,
        cipher: Cipher,
        clock: Clock,
        max_content_chars: int,
        on_change: ChangeSink | None = None,
        semantic: ranking.DenseIndex | None = None,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.clock = clock
        self.max_content_chars = max_content_chars
        self.on_change = on_change
        self.hlc = HLC(clock)
        # The semantic leg, when it runs (memoryd.semantic.component).
        self.semantic = semantic
        # How many rows hold each word, kept across recalls past fts.RANKED_BUDGET rows.
        self.word_counts = WordCounts()
        self.recalls = InFlight()  # the semantic leg's product placement (recall.py)

    async def load_clock(self) -> None:
        async with (
            self.db.reader() as conn,
            conn.execute("SELECT value FROM meta WHERE key = 'hlc'") as cursor,
        ):
            row = await cursor.fetchone()
        self.hlc.last = max(self.hlc.last, int(row[0]) if row else 0)

    # ----------------------------------------------------------------- writes

    async def create(self, new: NewMemory) -> Created:
        created = await writes.create(self, new)
        if self.semantic is not None:
            self.semantic.written()  # embedded now, not at the leg's next look
        return created

    async def update(self, memory_id: str, patch: Patch) -> Memory:
        updated = await writes.update(self, memory_id, patch)
        if self.semantic is not None:
            self.semantic.written()
        return updated

    async def delete(self, memory_id: str) -> tuple[Memory, bool]:
        """Tombstone a memory: its text leaves the row and the index, its id stays so the
        delete can replicate and win. Returns the memory as it was, and whether it was live."""
        return await writes.delete(self, memory_id)

    async def apply_remote(self, conn: aiosqlite.Connection, change: Change) -> bool:
        """Join a change pulled from the hub, inside the caller's transaction; see
        `replication`. Returns whether the row changed."""
        return await replication.apply_remote(self, conn, change)

    async def apply_remote_page(
        self, conn: aiosqlite.Connection, changes: list[Change]
    ) -> list[bool | str]:
        """`apply_remote` for a pulled page, batched; for each change whether its row changed,
        or why it was refused. See `replication.apply_page`."""
        return await replication.apply_page(self, conn, changes)

    async def import_many(self, items: list[NewMemory]) -> ImportResult:
        return await transfer.import_many(self, items)

    async def link(self, src_id: str, link_type: str, dst_id: str) -> Link:
        return await links.link(self, src_id, link_type, dst_id)

    async def unlink(self, src_id: str, dst_id: str, link_type: str) -> Link:
        return await links.unlink(self, src_id, dst_id, link_type)

    async def links_of(self, memory_id: str) -> LinksOf:
        return await links.links_of(self.db, memory_id)

    # ----------------------------------------------------------------- reads

    async def get(self, memory_id: str) -> Memory:
        return await reads.get(self.db, memory_id)

    async def get_many(self, memory_ids: list[str]) -> tuple[list[Memory], list[str]]:
        return await reads.get_many(self.db, memory_ids)

    async def secret(self, memory_id: str) -> tuple[Memory, str]:
        return await reads.secret(self.db, self.cipher, memory_id)

    async def page(self, query: ListQuery) -> tuple[list[Memory], int]:
        return await reads.page(self.db, query)

    async def most_important(
        self,
        project: str | None,
        limit: int,
        categories: Sequence[str] = (),
        with_global: bool = False,
    ) -> list[Memory]:
        """What the session hooks inject unasked; see `reads.most_important`."""
        return await reads.most_important(self.db, project, limit, categories, with_global)

    async def standing(
        self, project: str | None, limit: int
    ) -> tuple[list[tuple[Memory, int]], list[str]]:
        """What the SessionStart profile chooses from; see `reads.standing`."""
        return await reads.standing(self.db, project, limit)

    async def successors(self, ids: list[str]) -> dict[str, str]:
        """For each of `ids` that a live memory replaced: the id of the one that wins now."""
        async with self.db.reader() as conn:
            return await succession.successors(conn, ids)

    async def recall(self, query: RecallQuery) -> list[tuple[Memory, float]]:
        return [(r.memory, r.score) for r in await self.recall_evidence(query)]

    async def recall_evidence(self, query: RecallQuery) -> list[Recalled]:
        """`recall`, each memory with what it has in common with the query (the hooks decide
        on it whether to inject it at all) and, if it was superseded, by what."""
        return await run_recall(
            self.db, self.clock, self.semantic, query, self.word_counts, self.recalls
        )

    async def count(self) -> int:
        return await count_live(self.db)

    async def stats(self) -> dict[str, Any]:
        return await summary(self.db)

    def export(self, include_sensitive: bool) -> AsyncIterator[dict[str, Any]]:
        return transfer.export(self.db, self.cipher, include_sensitive)

    async def health(self, wait_s: float) -> BackendHealth:
        # A local count takes well under any wait.
        check = self.db.integrity.state
        return BackendHealth(
            location=str(self.db.path),
            memories=await self.count(),
            integrity=None if check == integrity.OK else check,
        )
