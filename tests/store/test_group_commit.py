"""Writes queued together share one transaction, and still succeed or fail one by one."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable

import aiosqlite
import pytest

from memory_core.errors import Conflict
from memory_core.wire.rest import ListQuery
from memoryd.store.memories import MemoryStore, NewMemory
from memoryd.store.writer import WriterConnection


async def _meta(conn: aiosqlite.Connection, key: str) -> str | None:
    rows = list(await conn.execute_fetchall("SELECT value FROM meta WHERE key = ?", (key,)))
    return str(rows[0][0]) if rows else None


async def test_concurrent_writes_share_transactions_and_each_is_stored(
    store: MemoryStore,
) -> None:
    statements: list[str] = []  # what the writer's SQLite runs, traced by SQLite itself
    await store.db.writer.set_trace_callback(statements.append)
    created = await asyncio.gather(
        *(store.create(NewMemory(content=f"group commit note {n}")) for n in range(40))
    )
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert len({c.memory.id for c in created}) == 40
    assert await store.count() == 40
    for c in created:
        assert (await store.get(c.memory.id)).content == c.memory.content
    # Queued writes shared a transaction: far fewer BEGINs than writes.
    assert 1 <= len(begins) <= 3, begins


async def test_a_clean_failure_in_a_shared_batch_fails_alone(store: MemoryStore) -> None:
    taken = await store.create(NewMemory(content="the id is taken"))
    results = await asyncio.gather(
        store.create(NewMemory(content="first neighbour")),
        store.create(NewMemory(content="reuses an id", id=taken.memory.id)),
        store.create(NewMemory(content="second neighbour")),
        return_exceptions=True,
    )
    assert isinstance(results[1], Conflict)
    assert await store.count() == 3
    contents = {m.content for m in (await store.page(ListQuery(limit=10)))[0]}
    assert contents == {"the id is taken", "first neighbour", "second neighbour"}


async def test_a_job_failing_after_its_writes_is_undone_and_its_neighbours_kept(
    store: MemoryStore,
) -> None:
    class Boom(Exception):
        pass

    async def writes_then_fails(conn: aiosqlite.Connection) -> None:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('half-done', 'x')")
        raise Boom

    def writes(key: str):  # type: ignore[no-untyped-def]
        async def job(conn: aiosqlite.Connection) -> str:
            await conn.execute("INSERT INTO meta (key, value) VALUES (?, 'ok')", (key,))
            return key

        return job

    db = store.db
    results = await asyncio.gather(
        db.write(writes("before")),
        db.write(writes_then_fails),
        db.write(writes("after")),
        return_exceptions=True,
    )
    assert results[0] == "before" and results[2] == "after"
    assert isinstance(results[1], Boom)
    async with db.reader() as conn:
        assert await _meta(conn, "before") == "ok"
        assert await _meta(conn, "after") == "ok"
        assert await _meta(conn, "half-done") is None


async def test_close_commits_what_is_queued(store: MemoryStore) -> None:
    pending = [
        asyncio.ensure_future(store.create(NewMemory(content=f"late {n}"))) for n in range(5)
    ]
    # Scheduled after the five writes (tasks start in order), so they are queued when it runs.
    closing = asyncio.ensure_future(store.db.close())
    await asyncio.gather(closing, *pending)
    with sqlite3.connect(store.db.path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM memories").fetchone()[0] == 5


@pytest.mark.parametrize("jobs", [1, 3])
async def test_the_result_comes_after_the_commit(store: MemoryStore, jobs: int) -> None:
    created = await asyncio.gather(
        *(store.create(NewMemory(content=f"visible {n}")) for n in range(jobs))
    )
    async with store.db.reader() as conn:
        rows = list(await conn.execute_fetchall("SELECT id FROM memories"))
    assert {r[0] for r in rows} == {c.memory.id for c in created}


async def test_a_commit_that_fails_fails_only_the_write_that_cannot_commit(
    store: MemoryStore,
) -> None:
    """A COMMIT refused (here a deferred foreign key, checked only at COMMIT) undoes the shared
    transaction; the batch runs again one write per transaction, and only the write that
    cannot commit fails: never acknowledged, never stored."""
    db = store.db
    await db.write(_run("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
    await db.write(
        _run(
            "CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) "
            "DEFERRABLE INITIALLY DEFERRED)"
        )
    )
    statements: list[str] = []
    await db.writer.set_trace_callback(statements.append)
    results = await asyncio.gather(
        store.create(NewMemory(content="stored before the orphan")),
        db.write(_run("INSERT INTO child (parent_id) VALUES (42)")),
        store.create(NewMemory(content="stored after the orphan")),
        return_exceptions=True,
    )
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert not isinstance(results[0], BaseException) and not isinstance(results[2], BaseException)
    # One shared transaction whose COMMIT failed, then one per write.
    assert sum(s.startswith("BEGIN") for s in statements) == 4, statements
    async with db.reader() as conn:
        assert not list(await conn.execute_fetchall("SELECT * FROM child"))
    contents = {m.content for m in (await store.page(ListQuery(limit=10)))[0]}
    assert contents == {"stored before the orphan", "stored after the orphan"}


async def test_statements_inside_a_transaction_run_on_the_loop_thread(store: MemoryStore) -> None:
    """What makes group commit pay: between BEGIN and COMMIT no statement travels to the
    connection's thread and back (memoryd/store/writer.py)."""
    db = store.db
    await db.writer.create_function("thread_id", 0, threading.get_ident)

    async def where(conn: aiosqlite.Connection) -> int:
        rows = list(await conn.execute_fetchall("SELECT thread_id()"))
        return int(rows[0][0])

    assert await db.write(where) == threading.get_ident()
    rows = list(await db.writer.execute_fetchall("SELECT thread_id()"))  # outside: the thread
    assert rows[0][0] != threading.get_ident()


async def test_a_long_write_job_lets_the_loop_run_meanwhile(store: MemoryStore) -> None:
    """Inline statements never suspend, so a job of many statements would hold the event loop
    for its whole length; the writer gives the loop a turn every SLICE_S."""
    ticked = asyncio.Event()

    async def ticker() -> None:
        await asyncio.sleep(0)  # first in line once the job has started
        ticked.set()

    async def long_job(conn: aiosqlite.Connection) -> tuple[bool, int]:
        asyncio.get_running_loop().create_task(ticker())
        statements = 0
        while not ticked.is_set() and statements < 200_000:
            await conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('tick', 'x')")
            statements += 1
        return ticked.is_set(), statements

    during, statements = await store.db.write(long_job)
    assert during, f"the loop never ran during {statements} statements"


async def test_the_clock_is_saved_once_per_transaction_with_its_last_value(
    store: MemoryStore,
) -> None:
    statements: list[str] = []
    await store.db.writer.set_trace_callback(statements.append)
    await asyncio.gather(*(store.create(NewMemory(content=f"clock note {n}")) for n in range(40)))
    transactions = sum(s.startswith("BEGIN") for s in statements)
    assert sum(s.startswith("INSERT INTO meta") for s in statements) == transactions
    async with store.db.reader() as conn:
        assert await _meta(conn, "hlc") == str(store.hlc.last)


async def test_what_a_rolled_back_transaction_left_to_run_at_commit_is_dropped(
    store: MemoryStore,
) -> None:
    class Boom(Exception):
        pass

    async def defers_then_fails(conn: aiosqlite.Connection) -> None:
        assert isinstance(conn, WriterConnection)
        conn.at_commit("probe", "INSERT INTO meta (key, value) VALUES ('probe', 'leaked')", ())
        await conn.execute("INSERT INTO meta (key, value) VALUES ('half-done', 'x')")
        raise Boom

    results = await asyncio.gather(
        store.create(NewMemory(content="kept")),
        store.db.write(defers_then_fails),
        return_exceptions=True,
    )
    assert isinstance(results[1], Boom)
    await store.db.write(_run("INSERT INTO meta (key, value) VALUES ('later', 'x')"))
    async with store.db.reader() as conn:
        assert await _meta(conn, "probe") is None
        assert await _meta(conn, "half-done") is None
        assert await _meta(conn, "hlc") == str(store.hlc.last)


def _run(sql: str) -> Callable[[aiosqlite.Connection], Awaitable[None]]:
    async def job(conn: aiosqlite.Connection) -> None:
        await conn.execute(sql)

    return job


async def test_a_job_queued_alone_shares_its_transaction_with_no_other(
    store: MemoryStore,
) -> None:
    """An import batch runs alone: the stores queued beside it commit in a transaction of
    their own, so that they are answered without waiting for the whole batch."""
    statements: list[str] = []
    await store.db.writer.set_trace_callback(statements.append)
    db = store.db
    await asyncio.gather(
        db.write(_run("INSERT INTO meta (key, value) VALUES ('a', 'x')")),
        db.write(_run("INSERT INTO meta (key, value) VALUES ('b', 'x')")),
        db.write(_run("INSERT INTO meta (key, value) VALUES ('big', 'x')"), alone=True),
        db.write(_run("INSERT INTO meta (key, value) VALUES ('c', 'x')")),
    )
    transactions = " ".join(statements).split("BEGIN IMMEDIATE")[1:]
    assert [[k for k in ("'a'", "'b'", "'big'", "'c'") if k in t] for t in transactions] == [
        ["'a'", "'b'"],
        ["'big'"],
        ["'c'"],
    ]
