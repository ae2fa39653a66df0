"""Push pages against the real hub's size limits: a page is sized by its encoded bytes to fit
the hub's push limit, shrinks when the hub still answers 413, and an op too large to push on
its own is set aside and reported while the rest of the queue flows (issue 17, defect 1)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest

from memory_core.wire.sync import MAX_PUSH_BYTES, MAX_PUSH_OPS, PUSH_PATH
from memory_hub.config import HubSettings, load_settings
from memoryd.store.memories import NewMemory
from tests.conftest import FakeClock
from tests.hubs import HubHarness, running_hub
from tests.sync.harness import Replica, SkewedClock

Factory = Callable[..., Coroutine[Any, Any, Replica]]


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests on and remembers each push's body size and answer status."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.pushes: list[tuple[int, int]] = []  # (request body bytes, status)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self.inner.handle_async_request(request)
        if request.url.path == PUSH_PATH:
            self.pushes.append((len(body), response.status_code))
        return response


def _cjk(rng: random.Random, chars: int) -> str:
    return "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(chars))


@pytest.fixture
async def hub_world(
    tmp_path: Path, hub_dsn: str
) -> AsyncIterator[Callable[..., Coroutine[Any, Any, tuple[HubHarness[FakeClock], Factory]]]]:
    """Starts the real hub with the given settings; makes replicas of it."""
    truth = FakeClock()
    async with contextlib.AsyncExitStack() as stack:

        async def start(**hub_settings: Any) -> tuple[HubHarness[FakeClock], Factory]:
            hub = await stack.enter_async_context(running_hub(hub_dsn, truth, **hub_settings))

            async def make(name: str, **kwargs: Any) -> Replica:
                replica = Replica(tmp_path / name, hub.app, SkewedClock(truth), **kwargs)
                await replica.open()
                stack.push_async_callback(replica.close)
                return replica

            return hub, make

        yield start


def test_the_wire_limits_are_the_hubs_defaults() -> None:
    for hub in (
        HubSettings(database_url="x", keys={}),
        load_settings({"DATABASE_URL": "postgresql://h/db", "API_KEY": "k" * 10}),
    ):
        assert (hub.max_push_ops, hub.max_push_bytes) == (MAX_PUSH_OPS, MAX_PUSH_BYTES)


async def test_a_full_queue_of_long_cjk_memories_drains_in_pages_that_fit(hub_world: Any) -> None:
    hub, make = await hub_world()
    a = await make("a", end_to_end=True)  # sealed JSON escapes CJK: ~11 KiB an op
    recorder = RecordingTransport(a.transport.inner)
    a.transport.inner = recorder
    rng = random.Random(17)
    for _ in range(500):
        await a.store.create(NewMemory(_cjk(rng, 1400)))
    result = await a.engine.sync_once()
    assert result.ok, result
    assert result.pushed == 500 and result.parked == 0
    assert await a.outbox_depth() == 0 and await hub.head() == 500
    assert len(recorder.pushes) >= 2  # one page of 500 would be over the limit
    assert all(status == 200 for _, status in recorder.pushes), recorder.pushes
    assert all(size <= MAX_PUSH_BYTES for size, _ in recorder.pushes)
    b = await make("b", end_to_end=True)
    assert (await b.engine.sync_once()).applied == 500


async def test_a_hub_with_a_smaller_limit_gets_halved_pages(hub_world: Any) -> None:
    hub, make = await hub_world(max_push_bytes=64 * 1024)
    a = await make("a")
    recorder = RecordingTransport(a.transport.inner)
    a.transport.inner = recorder
    rng = random.Random(18)
    for _ in range(60):
        await a.store.create(NewMemory(_cjk(rng, 1400)))  # ~4.7 KiB an op
    result = await a.engine.sync_once()
    assert result.ok and result.pushed == 60, result
    assert await a.outbox_depth() == 0 and await hub.head() == 60
    statuses = [status for _, status in recorder.pushes]
    assert statuses[0] == 413 and statuses[-1] == 200
    assert statuses.count(413) <= 3  # learnt once per round, not once per page


async def test_an_op_over_the_hubs_limit_is_set_aside_and_the_rest_flows(
    hub_world: Any,
) -> None:
    hub, make = await hub_world(max_push_bytes=8 * 1024)
    a = await make("a")
    rng = random.Random(19)
    for i in range(5):
        await a.store.create(NewMemory(f"short note number {i} about the deploy"))
    big = await a.store.create(NewMemory(_cjk(rng, 1400)))  # ~4.7 KiB of content
    huge = await a.store.create(NewMemory(_cjk(rng, 1400), force_sensitive=True))  # sealed
    for i in range(5):
        await a.store.create(NewMemory(f"later note number {i} about the release"))
    result = await a.engine.sync_once()
    assert result.ok, result
    assert result.pushed == 11 and result.parked == 1
    assert await hub.head() == 11
    status = await a.engine.status()
    assert status.queue_depth == 0 and status.parked == 1
    assert status.parked_errors and status.parked_errors[0].startswith("payload_too_large")
    assert "push limit" in status.parked_errors[0]
    async with (
        a.db.reader() as conn,
        conn.execute("SELECT entity_id FROM sync_outbox WHERE parked = 1") as cursor,
    ):
        assert [row[0] for row in await cursor.fetchall()] == [huge.memory.id]
    again = await a.engine.sync_once()  # a set-aside op does not stall later rounds
    assert again.ok and again.pushed == 0
    b = await make("b")
    await b.engine.sync_once()
    assert big.memory.id in await b.snapshot()


async def test_a_hub_before_issue_20_with_500_ops_a_push_gets_halved_pages(hub_world: Any) -> None:
    # A hub older than issue 20 allows 500 ops a push; replicas now send up to MAX_PUSH_OPS.
    hub, make = await hub_world(max_push_ops=500)
    a = await make("a", push_page=MAX_PUSH_OPS)
    recorder = RecordingTransport(a.transport.inner)
    a.transport.inner = recorder
    await a.store.import_many([NewMemory(f"short note {n}") for n in range(1200)])
    result = await a.engine.sync_once()
    assert result.ok and result.pushed == 1200 and result.parked == 0, result
    assert await a.outbox_depth() == 0 and await hub.head() == 1200
    statuses = [status for _, status in recorder.pushes]
    # The 1200 queued -> 600 -> 300: refused while over 500, then pages that fit; never a loop.
    assert statuses == [413, 413, 200, 200, 200, 200], statuses
