"""The sync engine against the real hub (memory_hub on PostgreSQL, over httpx.ASGITransport):
one behaviour per test."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from memory_core.errors import Conflict
from memory_core.hlc import wall_ms
from memoryd.store.memories import NewMemory, Patch, RecallQuery
from tests.conftest import FakeClock
from tests.hubs import HubHarness, running_hub
from tests.sync.harness import Replica, SkewedClock

Factory = Callable[..., Coroutine[Any, Any, Replica]]


@pytest.fixture
async def world(
    tmp_path: Path, hub_dsn: str
) -> AsyncIterator[tuple[HubHarness[FakeClock], FakeClock, Factory]]:
    truth = FakeClock()
    opened: list[Replica] = []
    async with running_hub(hub_dsn, truth) as hub:

        async def make(name: str, skew_ms: int = 0, **kwargs: Any) -> Replica:
            replica = Replica(tmp_path / name, hub.app, SkewedClock(truth, skew_ms), **kwargs)
            opened.append(await replica.open())
            return replica

        yield hub, truth, make
        for replica in opened:
            if replica.db._writer is not None:
                await replica.close()


async def test_store_on_a_recall_on_b_delete_on_b_gone_on_a(world: Any) -> None:
    _hub, _, make = world
    a, b = await make("a"), await make("b")
    created = await a.store.create(NewMemory("The staging cluster is in eu-west-1", tags=["infra"]))
    first = await a.engine.sync_once()
    assert first.ok and first.pushed == 1
    got = await b.engine.sync_once()
    assert got.ok and got.applied == 1
    found = await b.store.recall(RecallQuery("staging cluster"))
    assert [m.id for m, _ in found] == [created.memory.id]
    await b.store.delete(created.memory.id)
    await b.engine.sync_once()
    await a.engine.sync_once()
    assert await a.store.recall(RecallQuery("staging cluster")) == []
    assert await a.snapshot() == await b.snapshot() == {created.memory.id: "deleted"}
    assert await a.outbox_depth() == await b.outbox_depth() == 0


async def test_supersedes_replicates_and_the_newer_memory_wins_on_the_other_replica(
    world: Any,
) -> None:
    hub, _, make = world
    a, b = await make("a"), await make("b")
    old = (await a.store.create(NewMemory("All CI pipelines run on CircleCI"))).memory.id
    new = await a.store.create(
        NewMemory("CI moved from CircleCI to GitHub Actions", supersedes=old)
    )
    assert (await a.engine.sync_once()).pushed == 2
    assert (await b.engine.sync_once()).applied == 2
    assert (await b.store.get(new.memory.id)).supersedes == old
    found = await b.store.recall(RecallQuery("where do CI pipelines run"))
    assert [m.id for m, _ in found] == [new.memory.id, old]
    assert await a.snapshot() == await b.snapshot()
    # The hub keeps it too: its REST answer for the memory says what it replaced.
    got = await hub.client("alice").get(f"/api/memories/{new.memory.id}")
    assert got.json()["supersedes"] == old


async def test_lost_response_is_retried_as_duplicate_without_duplicating(world: Any) -> None:
    hub, _, make = world
    a, b = await make("a"), await make("b")
    await a.store.create(NewMemory("prefers svelte for dashboards"))
    a.transport.mode = "drop_response"
    lost = await a.engine.sync_once()
    assert not lost.ok and lost.error_code == "unreachable"
    assert await a.outbox_depth() == 1  # committed on the hub, but the client cannot know
    a.transport.mode = "none"
    retry = await a.engine.sync_once()
    assert retry.ok and retry.duplicates == 1 and retry.pushed == 0
    assert await a.outbox_depth() == 0
    assert await hub.head() == 1
    await b.engine.sync_once()
    assert len(await b.snapshot()) == 1


async def test_sensitive_content_is_sealed_and_synced(world: Any) -> None:
    hub, _, make = world
    a, b = await make("a"), await make("b")
    secret = "the vault token is hvs.CAESIJ1qpY8aZ5tWKcC2Qq9sample"
    created = await a.store.create(NewMemory(secret, force_sensitive=True))
    assert b"hvs.CAESIJ1qpY8aZ5tWKcC2Qq9sample" not in await a.raw_bytes()
    await a.engine.sync_once()
    on_hub = repr(await hub.ops())
    assert "CAESIJ1qpY8aZ5tWKcC2Qq9sample" not in on_hub and "vault token" not in on_hub
    await b.engine.sync_once()
    memory, text = await b.store.secret(created.memory.id)
    assert memory.is_sensitive and text == secret
    assert b"hvs.CAESIJ1qpY8aZ5tWKcC2Qq9sample" not in await b.raw_bytes()


async def test_without_a_key_sensitive_memories_stay_local(world: Any) -> None:
    hub, _, make = world
    a = await make("a", key=None)
    await a.store.create(NewMemory("api key sk-ant-api03-abcdefghijklmnopqrstuvwx", tags=[]))
    await a.store.create(NewMemory("ordinary fact about tabs"))
    result = await a.engine.sync_once()
    assert result.pushed == 1
    ops = await hub.ops()
    assert len(ops) == 1 and "sk-ant" not in repr(ops)


async def test_end_to_end_mode_seals_every_field(world: Any) -> None:
    hub, _, make = world
    a, b = await make("a", end_to_end=True), await make("b", end_to_end=True)
    created = await a.store.create(NewMemory("likes dark roast coffee", tags=["coffee"]))
    await a.engine.sync_once()
    ops = await hub.ops()
    assert ops and all(op["fields"] == {} and op["sealed"] for op in ops)
    assert "coffee" not in repr(ops)
    await b.engine.sync_once()
    assert (await b.store.get(created.memory.id)).tags == ["coffee"]


async def test_wrong_key_is_reported_and_nothing_is_applied(world: Any) -> None:
    _, _, make = world
    a = await make("a")
    await a.store.create(NewMemory("a sealed one", force_sensitive=True))
    await a.engine.sync_once()
    other = await make("other", key=b"\x01" * 32)
    result = await other.engine.sync_once()
    assert not result.ok and result.error_code == "wrong_key"
    assert result.error is not None and "MEMORY_ENCRYPTION_KEY" in result.error
    assert await other.engine.cursor() == 0
    status = await other.engine.status()
    assert status.last_error is not None and status.last_error.startswith("wrong_key")


async def test_clock_far_ahead_keeps_ops_queued_until_time_catches_up(world: Any) -> None:
    _hub, truth, make = world
    ahead = await make("ahead", skew_ms=3_600_000)
    b = await make("b")
    await ahead.store.create(NewMemory("written by a clock an hour fast"))
    result = await ahead.engine.sync_once()
    assert not result.ok and result.error_code == "clock_skew"
    assert result.error is not None and "ahead" in result.error
    assert await ahead.outbox_depth() == 1
    truth.advance(3_600_000)
    assert (await ahead.engine.sync_once()).pushed == 1
    await b.engine.sync_once()
    assert len(await b.snapshot()) == 1


async def test_later_edit_wins_whatever_the_skew(world: Any) -> None:
    _, _, make = world
    fast = await make("fast", skew_ms=9 * 60_000)
    slow = await make("slow", skew_ms=-3 * 3_600_000)
    created = await fast.store.create(NewMemory("first words", importance=0.2))
    await fast.engine.sync_once()
    await slow.engine.sync_once()
    await slow.store.update(created.memory.id, Patch(content="second words"))
    await slow.engine.sync_once()
    await fast.engine.sync_once()
    for replica in (fast, slow):
        assert (await replica.store.get(created.memory.id)).content == "second words"
    hlcs = [c.hlc for c in slow.emitted]
    assert wall_ms(hlcs[-1]) >= wall_ms(fast.emitted[0].hlc)


async def test_copied_database_gets_a_new_replica_id(world: Any, tmp_path: Path) -> None:
    _hub, _, make = world
    a = await make("a")
    await a.store.create(NewMemory("queued before the copy"))
    await a.close()
    (tmp_path / "copy").mkdir()
    shutil.copy(a.db_path, tmp_path / "copy" / "memory.db")
    a = await make("a")
    assert not a.cloned
    copy = await make("copy")
    assert copy.cloned and copy.replica_id != a.replica_id
    assert (await a.engine.sync_once()).ok
    assert (await copy.engine.sync_once()).ok  # re-stamped: no replica_collision
    assert await a.snapshot() == await copy.snapshot()
    assert len(await a.snapshot()) == 1


async def test_replica_collision_restamps_and_pushes(world: Any, tmp_path: Path) -> None:
    _, _, make = world
    a = await make("a")
    await a.store.create(NewMemory("one"))
    await a.engine.sync_once()
    b = await make("b")

    # Simulate a reused replica id that escaped detection (the marker copied too).
    async def steal(conn: Any) -> None:
        await conn.execute("UPDATE sync_state SET replica_id = ?", (a.replica_id,))

    await b.db.write(steal)
    await b.store.create(NewMemory("two"))
    result = await b.engine.sync_once()
    assert result.ok and result.pushed == 1
    # The real hub refused the reused (replica_id, replica_seq) and b minted a new id.
    async with b.db.reader() as conn, conn.execute("SELECT replica_id FROM sync_state") as cur:
        row = await cur.fetchone()
    assert row is not None and row[0] != a.replica_id
    await a.engine.sync_once()
    assert await a.snapshot() == await b.snapshot()


async def test_paged_pull_of_many_ops(world: Any) -> None:
    hub, _, make = world
    a = await make("a", push_page=7)
    b = await make("b", pull_limit=5)
    for i in range(23):
        await a.store.create(NewMemory(f"memory number {i} about topic {i}"))
    assert (await a.engine.sync_once()).pushed == 23
    result = await b.engine.sync_once()
    assert result.pulled == 23 and result.applied == 23
    assert await b.engine.cursor() == await hub.head() == 23
    assert await a.snapshot() == await b.snapshot()


async def test_sensitive_memory_stored_over_hub_rest_arrives_without_content(world: Any) -> None:
    # The hub seals a sensitive REST memory with its own key and logs a put with every other
    # field and is_sensitive, but no content: a daemon must take the metadata, keep the row
    # consistent, and say plainly that the text lives on the hub.
    hub, _, make = world
    a = await make("a")
    rest = hub.client("alice")
    stored = await rest.post(
        "/api/memories",
        json={"content": "the deploy password is Tr0ub4dor&3", "force_sensitive": True,
              "tags": ["deploy"], "importance": 0.9},
    )  # fmt: skip
    assert stored.status_code == 200, stored.text
    mid = stored.json()["uuid"]
    (op,) = await hub.ops()
    assert op["kind"] == "put" and op["fields"]["is_sensitive"] is True
    assert "content" not in op["fields"] and op["sealed"] is None
    result = await a.engine.sync_once()
    assert result.ok and result.applied == 1, result
    memory = await a.store.get(mid)
    assert memory.is_sensitive and memory.tags == ["deploy"] and memory.importance == 0.9
    assert memory.content is None
    found = await a.store.recall(RecallQuery("deploy"))  # by its tag; no text is indexed
    assert [m.id for m, _ in found] == [mid]
    assert await a.store.recall(RecallQuery("password Tr0ub4dor")) == []
    assert b"Tr0ub4dor" not in await a.raw_bytes()
    await a.fts_ok()
    with pytest.raises(Conflict, match="held only by the hub"):
        await a.store.secret(mid)
    # A later edit on the daemon joins the hub's row field by field.
    await a.store.update(mid, Patch(tags=["deploy", "prod"]))
    assert (await a.engine.sync_once()).pushed == 1
    on_hub = (await rest.get(f"/api/memories/{mid}")).json()
    secret = await rest.post(f"/api/memories/{mid}/secret")
    assert on_hub["tags"] == "deploy,prod" and on_hub["is_sensitive"] is True
    assert secret.json()["content"] == "the deploy password is Tr0ub4dor&3"
