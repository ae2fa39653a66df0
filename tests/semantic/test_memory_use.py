"""The semantic leg's memory: the memories' session is loaded only while there is something
to embed, and what embedding freed goes back to the system."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import numpy as np

from memoryd.semantic.embedder import Embedder
from memoryd.semantic.leg import SemanticLeg, release_freed_memory
from memoryd.store.memories import MemoryStore, NewMemory, Patch

TEXTS = ["The staging database runs PostgreSQL 16", "Standups happen every morning at nine"]


def rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def test_a_released_batch_session_comes_back_with_the_same_vectors() -> None:
    embedder = Embedder(threads=2)
    assert not embedder.batches_loaded  # nothing embedded yet: not loaded
    first = embedder.embed(TEXTS)
    assert embedder.batches_loaded
    embedder.release_batches()
    assert not embedder.batches_loaded
    assert np.array_equal(embedder.embed(TEXTS), first)


def test_freed_embedding_buffers_go_back_to_the_system() -> None:
    embedder = Embedder(threads=2)
    line = "deploy the payments service to staging with helm "
    texts = [f"memory {i}: {line * 3}" for i in range(256)]
    embedder.embed(texts)
    grown = rss_mib()
    release_freed_memory()
    assert rss_mib() < grown - 20  # glibc kept tens of MB of freed heap until trimmed


async def test_the_indexer_releases_the_session_when_idle_and_reloads_it(
    store: MemoryStore,
) -> None:
    leg = SemanticLeg(store.db, Embedder(threads=2), idle_release_s=0.0)
    task = asyncio.create_task(leg.run())
    try:
        await store.create(NewMemory(content=TEXTS[0]))
        await wait_for(lambda: len(leg.index) == 1 and not leg.embedder.batches_loaded)
        await store.create(NewMemory(content=TEXTS[1]))  # after the release: loaded again
        await wait_for(lambda: len(leg.index) == 2)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    async with (
        store.db.reader() as conn,
        conn.execute("SELECT vector FROM memory_vectors ORDER BY rowid") as cursor,
    ):
        stored = [np.frombuffer(r[0], dtype=np.float32) for r in await cursor.fetchall()]
    assert np.allclose(np.stack(stored), Embedder(threads=2).embed(TEXTS), atol=1e-6)


async def wait_for(condition: object, timeout: float = 30.0) -> None:
    assert callable(condition)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_a_stored_or_edited_memory_is_embedded_at_once_not_at_the_next_poll(
    store: MemoryStore,
) -> None:
    # The worker looks at the database only every hour here: what it embeds in time was
    # announced by the store itself (MemoryStore.create and update call leg.written()).
    leg = SemanticLeg(store.db, Embedder(threads=2), poll_s=3600)
    await store.import_many([NewMemory(content=TEXTS[0])])  # before the worker starts
    task = asyncio.create_task(leg.run())
    store.semantic = leg
    try:
        await wait_for(lambda: len(leg.index) == 1)  # its first look; now it waits
        created = await store.create(NewMemory(content=TEXTS[1]))
        await wait_for(lambda: len(leg.index) == 2)
        before = leg.embedded
        await store.update(created.memory.id, Patch(content="Standups moved to ten"))
        await wait_for(lambda: leg.embedded == before + 1)
    finally:
        store.semantic = None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
