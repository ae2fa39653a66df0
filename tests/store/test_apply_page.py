"""A pulled page applied in one batch (`MemoryStore.apply_remote_page`, what sync runs) leaves
the store exactly as applying its changes one by one with `apply_remote` does: same rows, same
full-text index, same clock, the same history (who made each version), and the same changes
refused."""

from __future__ import annotations

import dataclasses
import random
import sqlite3
from pathlib import Path

import aiosqlite

from memory_core.crypto.aead import Cipher
from memoryd.store.db import Database
from memoryd.store.memories import Change, MemoryStore, NewMemory, RecallQuery
from tests.conftest import FakeClock

CREATION = {
    "category": "facts",
    "expanded_keywords": "",
    "importance": 0.5,
    "is_sensitive": False,
    "project": None,
    "source": "manual",
    "tags": ["t"],
}


def _page(seed: int, existing: list[str], base_hlc: int) -> list[Change]:
    """Creations, edits of rows the store holds, deletes, the same memory twice, sensitive
    content and one change out of bounds, in a random order."""
    rng = random.Random(seed)
    fresh = [f"0190a1b2-c3d4-7e5f-8a9b-{n:012x}" for n in range(40)]
    changes = []
    for n, entity in enumerate(fresh):
        fields = {**CREATION, "content": f"pulled note {n} about harbour{n}", "created_ms": 5}
        if n % 7 == 0:
            fields["is_sensitive"] = True
        changes.append(Change(entity, "put", base_hlc + n, fields))
    for n, entity in enumerate(existing):
        changes.append(Change(entity, "put", base_hlc + 100 + n, {"content": f"edited {n}"}))
        if n % 3 == 0:
            changes.append(Change(entity, "put", base_hlc - 5, {"tags": ["older"]}))
        if n % 4 == 1:
            changes.append(Change(entity, "del", base_hlc + 200 + n, {}))
    changes.append(Change(fresh[3], "put", base_hlc + 300, {"importance": 0.9}))
    changes.append(Change(fresh[5], "del", base_hlc + 301, {}))
    changes.append(Change(fresh[5], "put", base_hlc + 302, {"importance": 0.1}))
    changes.append(Change(fresh[6], "put", base_hlc + 303, {"importance": 7}))  # refused
    rng.shuffle(changes)
    # Pulled from two peers: the history records which one made each version.
    return [dataclasses.replace(c, replica=rng.choice(["peer-a", "peer-b"])) for c in changes]


async def _open(path: Path, clock: FakeClock) -> MemoryStore:
    db = Database(path)
    await db.open()
    store = MemoryStore(db, Cipher(b"k" * 32), clock, max_content_chars=1400)
    await store.load_clock()
    return store


def _dump(path: Path) -> list[list[tuple[object, ...]]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT id, content, secret IS NOT NULL, content_hash, category, tags, "
            "expanded_keywords, importance, is_sensitive, project, source, created_ms, "
            "updated_ms, deleted_ms, deleted_hlc, field_hlc FROM memories ORDER BY id"
        ).fetchall()
        index = conn.execute(
            "SELECT m.id, f.content, f.tags FROM memories_fts f JOIN memories m "
            "ON m.rowid = f.rowid ORDER BY m.id"
        ).fetchall()
        clock = conn.execute("SELECT value FROM meta WHERE key = 'hlc'").fetchall()
        history = conn.execute(
            "SELECT memory_id, action, origin, replica, changed, snapshot, secret IS NOT NULL "
            "FROM memory_history ORDER BY memory_id, seq"
        ).fetchall()
    return [rows, index, clock, history]


async def test_a_page_applied_in_one_batch_equals_one_by_one(
    tmp_path: Path, clock: FakeClock
) -> None:
    stores = [await _open(tmp_path / f"{name}.db", clock) for name in ("batch", "single")]
    try:
        existing: list[str] = []
        for n in range(12):  # the same memories (same ids) in both stores
            item = NewMemory(
                f"local note {n}",
                id=f"0190a1b2-c3d4-7e5f-8a9b-{n + 99:012x}",
                force_sensitive=n % 5 == 2,  # edited in clear, compared with the sealed text
            )
            for store in stores:
                await store.import_many([item])
            existing.append(item.id)  # type: ignore[arg-type]
        page = _page(1, existing, (clock.now_ms() + 1000) << 16)
        batch, single = stores

        async def in_batch(conn: aiosqlite.Connection) -> list[bool | str]:
            return await batch.apply_remote_page(conn, page)

        async def one_by_one(conn: aiosqlite.Connection) -> list[bool | str]:
            answers: list[bool | str] = []
            for change in page:
                try:
                    answers.append(await single.apply_remote(conn, change))
                except Exception as exc:  # InvalidInput: what the batch answers as text
                    answers.append(str(exc))
            return answers

        batched = await batch.db.write(in_batch)
        assert batched == await single.db.write(one_by_one)
        assert sum(isinstance(answer, str) for answer in batched) == 1
        assert _dump(tmp_path / "batch.db") == _dump(tmp_path / "single.db")
        found = await batch.recall(RecallQuery("harbour11"))
        assert [m.content for m, _ in found] == ["pulled note 11 about harbour11"]
    finally:
        for store in stores:
            await store.db.close()
