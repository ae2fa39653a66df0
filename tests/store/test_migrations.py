"""A database made by any older schema version opens with the current code: upgraded, each
migration recorded, data intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from memory_core.crypto.aead import Cipher
from memory_core.errors import StoreCorrupt
from memoryd.store.db import Database
from memoryd.store.memories import MemoryStore, NewMemory
from memoryd.store.migrations import MIGRATIONS, target_version
from tests.conftest import FakeClock

OLDER = [m.version for m in MIGRATIONS if m.version < target_version()]


async def build_at(path: Path, version: int, clock: FakeClock) -> list[str]:
    """A database at schema `version`, with memories written by today's store code where the
    schema allows, else by SQL against the version-1 columns."""
    db = Database(path, readers=1)
    await db.open([m for m in MIGRATIONS if m.version <= version])
    ids = []
    async with db.transaction() as conn:
        for n in range(3):
            memory_id = f"0190a000-0000-7000-8000-00000000000{n}"
            await conn.execute(
                "INSERT INTO memories (id, content, content_hash, category, tags, "
                "expanded_keywords, importance, project, created_ms, updated_ms) "
                "VALUES (?, ?, ?, 'facts', ?, 'kw', 0.6, 'proj', ?, ?)",
                (
                    memory_id,
                    f"Migrated memory number {n} about lighthouses",
                    Cipher(b"k" * 32).fingerprint(f"migrated memory number {n} about lighthouses"),
                    '["old"]',
                    clock.now_ms(),
                    clock.now_ms(),
                ),
            )
            ids.append(memory_id)
    await db.close()
    return ids


@pytest.mark.parametrize("version", OLDER or [None])
async def test_older_schema_upgrades_with_data_intact(
    tmp_path: Path, clock: FakeClock, version: int | None
) -> None:
    if version is None:
        pytest.fail("only one migration exists; nothing older to upgrade from")
    path = tmp_path / "memory.db"
    ids = await build_at(path, version, clock)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == version
    db = Database(path)
    await db.open()
    try:
        assert await db.schema_version() == target_version()
        async with (
            db.reader() as conn,
            conn.execute("SELECT version FROM schema_migrations ORDER BY version") as cursor,
        ):
            recorded = [r[0] for r in await cursor.fetchall()]
        assert recorded == [m.version for m in MIGRATIONS]
        store = MemoryStore(db, Cipher(b"k" * 32), clock, max_content_chars=1400)
        await store.load_clock()
        for n, memory_id in enumerate(ids):
            memory = await store.get(memory_id)
            assert memory.content == f"Migrated memory number {n} about lighthouses"
            assert memory.tags == ["old"] and memory.project == "proj"
        # The upgraded store works: dedup against migrated rows, and new writes.
        again = await store.create(NewMemory("migrated memory NUMBER 0 about lighthouses"))
        assert again.duplicate_of == ids[0]
        fresh = await store.create(NewMemory("A memory written after the upgrade"))
        assert fresh.duplicate_of is None
        assert await store.count() == 4
    finally:
        await db.close()


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    db = Database(path, readers=0)
    await db.open()
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, 'future', 0)",
            (target_version() + 1,),
        )
    await db.close()
    with pytest.raises(StoreCorrupt, match="newer"):
        await Database(path).open()


async def test_a_failed_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    from memoryd.store.migrations import Migration

    path = tmp_path / "memory.db"
    db = Database(path, readers=0)
    await db.open()
    await db.close()
    broken = [*MIGRATIONS, Migration(target_version() + 1, "broken", "CREATE TABLE x (a);\nNOPE;")]
    with pytest.raises(StoreCorrupt):
        await Database(path, readers=0).open(broken)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == (
            target_version()
        )
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'x'").fetchone() is None
