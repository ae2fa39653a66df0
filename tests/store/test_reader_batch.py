"""A reader's `batch` runs a recall's statements, and the Python between them, on the
connection's thread in one hand-off (memoryd/store/reader.py)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

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


async def test_what_a_batch_raises_reaches_the_caller(store: MemoryStore) -> None:
    """Whatever the work raises, even from its synchronous part before its coroutine exists,
    reaches the caller, and the connection goes back to the pool usable. A StopIteration
    raised there once never did: aiosqlite's thread handed it to the caller's future, which
    refuses one, and the recall waited forever."""

    def empty_first(conn: aiosqlite.Connection) -> Coroutine[Any, Any, None]:
        next(iter(()))  # what a lookup of a first item finds in an empty list
        raise AssertionError("not reached")

    async def fails(conn: aiosqlite.Connection) -> None:
        await conn.execute_fetchall("SELECT 1")
        raise LookupError("the batch's own error")

    async with store.db.reader() as conn:
        # The bound is a guard against a stall, never reached by a passing test.
        with pytest.raises(RuntimeError, match="StopIteration"):
            await asyncio.wait_for(conn.batch(empty_first), 30)
        with pytest.raises(LookupError, match="the batch's own error"):
            await asyncio.wait_for(conn.batch(fails), 30)
    await store.create(NewMemory("the kestrel deploy runs on fridays"))
    for _ in range(3):  # every reader of the pool, each usable
        recalled = await store.recall(RecallQuery(context="kestrel deploy"))
        assert [m.content for m, _ in recalled] == ["the kestrel deploy runs on fridays"]
