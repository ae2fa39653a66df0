"""Which memories the semantic leg embeds comes from the list the triggers keep
(memory_vectors_todo, migration 15) instead of a join over every memory after every write:
every way a memory can come to need a vector must land on it, and the list must empty."""

from __future__ import annotations

import aiosqlite

from memoryd.semantic.embedder import Embedder
from memoryd.semantic.leg import SemanticLeg
from memoryd.store.memories import MemoryStore, NewMemory, Patch


async def vectors_and_due(store: MemoryStore) -> tuple[set[int], set[int]]:
    async with store.db.reader() as conn:
        vectors = {r[0] for r in await conn.execute_fetchall("SELECT rowid FROM memory_vectors")}
        due = {r[0] for r in await conn.execute_fetchall("SELECT rowid FROM memory_vectors_todo")}
    return vectors, due


async def set_column(store: MemoryStore, rowid: int, column: str, value: object) -> None:
    async def job(conn: aiosqlite.Connection) -> None:
        await conn.execute(f"UPDATE memories SET {column} = ? WHERE rowid = ?", (value, rowid))

    await store.db.write(job)


async def test_every_memory_that_needs_a_vector_gets_one_and_the_list_empties(
    store: MemoryStore,
) -> None:
    leg = SemanticLeg(store.db, Embedder(threads=2))
    await leg.load()
    created = await store.create(NewMemory(content="The staging database runs PostgreSQL 16"))
    async with store.db.reader() as conn:
        rows = await conn.execute_fetchall(
            "SELECT rowid FROM memories WHERE id = ?", (created.memory.id,)
        )
    rowid = next(iter(rows))[0]
    assert await leg.pending() == 1
    assert await leg.sync_once() == 1
    assert await vectors_and_due(store) == ({rowid}, set())

    # Edited: the old vector goes (memory_vectors_stale), the new text is embedded.
    await store.update(created.memory.id, Patch(content="Staging runs PostgreSQL 17 now"))
    assert await leg.sync_once() == 1
    assert await vectors_and_due(store) == ({rowid}, set())

    # Made sensitive: no vector, and nothing left listed; made plain again: embedded.
    await set_column(store, rowid, "is_sensitive", 1)
    assert await leg.sync_once() == 0
    assert await vectors_and_due(store) == (set(), set())
    await set_column(store, rowid, "is_sensitive", 0)
    assert await leg.sync_once() == 1

    # Marked deleted, text kept: no vector; the mark cleared: embedded again.
    await set_column(store, rowid, "deleted_ms", 1)
    assert await leg.sync_once() == 0
    assert await vectors_and_due(store) == (set(), set())
    await set_column(store, rowid, "deleted_ms", None)
    assert await leg.sync_once() == 1
    assert await vectors_and_due(store) == ({rowid}, set())

    # Deleted through the store (its text erased): no vector, nothing listed.
    await store.delete(created.memory.id)
    assert await leg.sync_once() == 0
    assert await vectors_and_due(store) == (set(), set())

    # Dropped by a reindex: every memory is listed again.
    other = await store.create(NewMemory(content="Standups happen every morning at nine"))
    assert await leg.sync_once() == 1
    await leg.reindex()
    assert await leg.pending() == 1
    assert await leg.sync_once() == 1
    vectors, due = await vectors_and_due(store)
    assert len(vectors) == 1 and due == set() and other.memory.id
