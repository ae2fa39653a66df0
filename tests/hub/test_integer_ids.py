"""Every hub memory has a short per-user integer id beside its UUID (hub migration 5): numbered
from 1 per user, atomically under concurrent writers, backfilled for rows stored before it, and
accepted in paths wherever a memory id is (memory_hub.ids.resolve_memory_id)."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import pytest

from memory_core.errors import MalformedId, NotFound
from memory_hub.db import user_tx
from memory_hub.ids import resolve_memory_id
from memory_hub.migrations import MIGRATIONS, migrate
from tests.conftest import FakeClock
from tests.hubs import HubHarness


async def _nums(hub: HubHarness[FakeClock], user: str) -> dict[str, int]:
    rows = await hub.pool.fetch("SELECT id, num FROM memories WHERE user_id = $1", user)
    return {r["id"]: r["num"] for r in rows}


async def _store(hub: HubHarness[FakeClock], user: str, content: str) -> str:
    r = await hub.client(user).post("/api/memories", json={"content": content})
    assert r.status_code in (200, 201), r.text
    body = r.json()
    return str(body.get("uuid", body["id"]))


async def test_each_user_counts_from_one(hub: HubHarness[FakeClock]) -> None:
    first = [await _store(hub, "alice", f"alice fact {i}") for i in range(3)]
    bob = await _store(hub, "bob", "bob fact")
    alice_nums = await _nums(hub, "alice")
    assert [alice_nums[u] for u in first] == [1, 2, 3]
    assert (await _nums(hub, "bob"))[bob] == 1


async def test_concurrent_writers_get_distinct_numbers(hub: HubHarness[FakeClock]) -> None:
    made = await asyncio.gather(*(_store(hub, "alice", f"race {i}") for i in range(25)))
    nums = await _nums(hub, "alice")
    assert sorted(nums[u] for u in made) == list(range(1, 26))


async def test_a_pushed_memory_is_numbered_and_an_update_keeps_its_number(
    hub: HubHarness[FakeClock],
) -> None:
    uuid = await _store(hub, "alice", "to be changed")
    r = await hub.client("alice").put(f"/api/memories/{uuid}", json={"importance": 0.9})
    assert r.status_code == 200, r.text
    second = await _store(hub, "alice", "second")
    nums = await _nums(hub, "alice")
    assert (nums[uuid], nums[second]) == (1, 2)


async def test_the_resolver_takes_either_form_and_only_the_users_own(
    hub: HubHarness[FakeClock],
) -> None:
    uuid = await _store(hub, "alice", "resolvable")
    await _store(hub, "bob", "bob's number one")
    async with user_tx(hub.pool, "alice") as conn:
        assert await resolve_memory_id(conn, "alice", "1") == uuid
        assert await resolve_memory_id(conn, "alice", f" {uuid.upper()} ") == uuid
        for unknown in ("2", "999", "0", "99999999999999999999999", "01900000-0000-7000-8000"):
            with pytest.raises(NotFound):
                await resolve_memory_id(conn, "alice", unknown)
        for malformed in ("-1", "1.5", "x" * 10_000, "not an id!", ""):
            with pytest.raises(MalformedId):
                await resolve_memory_id(conn, "alice", malformed)
    async with user_tx(hub.pool, "bob") as conn:
        with pytest.raises(NotFound):  # alice's UUID names nothing of bob's
            await resolve_memory_id(conn, "bob", uuid)
    r = await hub.client("alice").delete("/api/memories/1")
    assert r.status_code == 200, r.text
    async with user_tx(hub.pool, "alice") as conn:
        with pytest.raises(NotFound):
            await resolve_memory_id(conn, "alice", "1")
        assert await resolve_memory_id(conn, "alice", "1", include_deleted=True) == uuid


async def test_paths_take_the_integer_id(hub: HubHarness[FakeClock]) -> None:
    alice = hub.client("alice")
    await _store(hub, "alice", "first")
    await _store(hub, "alice", "second one")
    r = await alice.get("/api/memories/2")
    assert r.status_code == 200 and r.json()["content"] == "second one"
    assert (await hub.client("bob").get("/api/memories/2")).status_code == 404
    assert (await alice.put("/api/memories/2", json={"importance": 0.8})).status_code == 200
    assert (await alice.delete("/api/memories/2")).status_code == 200
    assert (await alice.get("/api/memories/2")).status_code == 404
    for bad in ("-1", "1e309", "999"):
        r = await alice.get(f"/api/memories/{bad}")
        assert r.status_code in (404, 422), (bad, r.text)


async def _migrated_to_4_with_rows(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        await conn.execute(
            "CREATE TABLE hub_schema_migrations (version integer PRIMARY KEY, "
            "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for version, name, step in MIGRATIONS[:4]:
            await step(conn)
            await conn.execute(
                "INSERT INTO hub_schema_migrations (version, name) VALUES ($1, $2)", version, name
            )
    rows = [("alice", "a-late", 30), ("alice", "a-early", 10), ("bob", "b-only", 20)]
    await conn.executemany(
        "INSERT INTO memories (user_id, id, content, created_ms, updated_ms) "
        "VALUES ($1, $2, 'x', $3, $3)",
        rows,
    )


async def test_migration_5_backfills_as_the_tables_owner_under_forced_rls(hub_dsn: str) -> None:
    """In production the hub's role owns its tables, and row-level security is forced on the
    owner: the backfill, which spans every user, must still see every row."""
    owner = f"hub_owner_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(hub_dsn)
    try:
        await _migrated_to_4_with_rows(admin)
        await admin.execute(f"CREATE ROLE {owner} LOGIN")
        await admin.execute(f"GRANT CREATE ON SCHEMA public TO {owner}")
        for table in ("hub_meta", "hub_users", "ops", "tombstones", "memories",
                      "hub_schema_migrations"):  # fmt: skip
            await admin.execute(f"ALTER TABLE {table} OWNER TO {owner}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(hub_dsn, user=owner)
    try:
        assert await conn.fetchval("SELECT count(*) FROM memories") == 0  # RLS binds the owner
        assert await migrate(conn) == [v for v, _, _ in MIGRATIONS[4:]]
        async with conn.transaction():
            await conn.execute("SELECT set_config('memory_hub.user_id', 'alice', true)")
            nums = await conn.fetch("SELECT id, num FROM memories ORDER BY num")
            assert [(r["id"], r["num"]) for r in nums] == [("a-early", 1), ("a-late", 2)]
        assert await conn.fetchval("SELECT count(*) FROM memories") == 0  # forced again
    finally:
        await conn.close()


async def test_migration_5_numbers_existing_rows(hub_dsn: str) -> None:
    conn = await asyncpg.connect(hub_dsn)
    try:
        await _migrated_to_4_with_rows(conn)
        await conn.execute("INSERT INTO hub_users (user_id) VALUES ('bob')")
        assert await migrate(conn) == [v for v, _, _ in MIGRATIONS[4:]]
        got = {
            (r["user_id"], r["id"]): r["num"]
            for r in await conn.fetch("SELECT user_id, id, num FROM memories")
        }
        assert got == {("alice", "a-early"): 1, ("alice", "a-late"): 2, ("bob", "b-only"): 1}
        counters = {
            r["user_id"]: r["next_num"]
            for r in await conn.fetch("SELECT user_id, next_num FROM hub_users")
        }
        assert counters == {"alice": 2, "bob": 1}
    finally:
        await conn.close()
