"""A store's connections held busy by a test, so that what waits for them waits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiosqlite

from memoryd.store.db import Database
from memoryd.store.memories import MemoryStore

READERS = 2  # the store fixture's Database(path): its default pool


@contextlib.asynccontextmanager
async def readers_held(db: Database) -> AsyncIterator[None]:
    """Every reader taken: a first read of the table waits until the block ends."""
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(READERS):
            await stack.enter_async_context(db.reader())
        yield


@contextlib.asynccontextmanager
async def writer_held(store: MemoryStore) -> AsyncIterator[None]:
    """The single writer busy (as a store or a sync merge would keep it) until the block ends."""
    held, release = asyncio.Event(), asyncio.Event()

    async def busy(conn: aiosqlite.Connection) -> None:
        held.set()
        await release.wait()

    writer = asyncio.create_task(store.db.write(busy))
    await held.wait()
    try:
        yield
    finally:
        release.set()
        await writer
