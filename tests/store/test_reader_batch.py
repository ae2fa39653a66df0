"""A reader's `batch` runs a recall's statements, and the Python between them, on the
connection's thread in one hand-off (memoryd/store/reader.py)."""

from __future__ import annotations

import asyncio
import threading

import aiosqlite
import pytest

from memoryd.store.memories import MemoryStore, NewMemory, RecallQuery


async def test_a_batch_runs_its_statements_on_the_connections_thread(store: MemoryStore) -> None:
    await store.create(NewMemory("the kestrel deploy runs on fridays"))
    threads: list[int] = []

    async def work(conn: aiosqlite.Connection) -> list[int]:
        threads.append(threading.get_ident())
        (count,) = await conn.execute_fetchall("SELECT count(*) FROM memories")
        async with conn.execute("SELECT rowid FROM memories") as cursor:
            rowids = [row[0] for row in await cursor.fetchall()]
        threads.append(threading.get_ident())
        return [count[0], *rowids]

    async with store.db.reader() as conn:
        assert await conn.batch(work) == [1, 1]
        # Queued to the thread as usual after it:
        assert [tuple(r) for r in await conn.execute_fetchall("SELECT 1")] == [(1,)]
    assert len(set(threads)) == 1
    assert threads[0] != threading.get_ident()


async def test_a_batch_that_waits_for_anything_else_is_refused(store: MemoryStore) -> None:
    async def waits(conn: aiosqlite.Connection) -> None:
        await conn.execute_fetchall("SELECT 1")
        await asyncio.sleep(0)

    async with store.db.reader() as conn:
        with pytest.raises(RuntimeError, match="awaited something other"):
            await conn.batch(waits)
        # The connection still works:
        assert [tuple(r) for r in await conn.execute_fetchall("SELECT 2")] == [(2,)]
    await store.create(NewMemory("the kestrel deploy runs on fridays"))
    recalled = await store.recall(RecallQuery(context="kestrel deploy"))
    assert [m.content for m, _ in recalled] == ["the kestrel deploy runs on fridays"]
