"""A memory read back from its row (memoryd.store.rows.memory_from_row): its JSON columns, the
empty lists read without the decoder included."""

from __future__ import annotations

import json

from memoryd.store import rows
from memoryd.store.memories import MemoryStore, NewMemory


async def test_tags_and_links_read_back_each_memory_its_own(store: MemoryStore) -> None:
    plain = (await store.create(NewMemory("Ship on Tuesdays"))).memory
    tagged = (await store.create(NewMemory("Ship from main", tags=["release", "ci"]))).memory
    first, second, again = (
        await store.get(plain.id),
        await store.get(tagged.id),
        await store.get(plain.id),
    )
    assert first.tags == [] and first.links == [] and first.field_hlc == plain.field_hlc
    assert second.tags == ["release", "ci"]
    first.tags.append("mutated")  # a fresh list each time, never one shared between memories
    assert again.tags == [] and (await store.get(plain.id)).tags == []


async def test_read_by_position_is_read_by_name(store: MemoryStore) -> None:
    """memory_from_row reads a row's columns by position: every field lands where reading it
    by name (its first definition) put it, for a row of each shape the store reads."""
    older = (await store.create(NewMemory("Deploy with Helm", tags=["k8s"], project="shop"))).memory
    newer = (
        await store.create(NewMemory("Deploy with Argo CD", project="shop", supersedes=older.id))
    ).memory
    async with store.db.reader() as conn:
        for memory in (older, newer):
            row = await rows.find_row(conn, memory.id)
            assert tuple(row.keys())[: rows.WIDTH] == rows.COLUMN_NAMES
            by_name = {name: row[name] for name in rows.COLUMN_NAMES}
            read = rows.memory_from_row(row)
            assert read.id == by_name["id"] and read.num == by_name["rowid"]
            assert read.content == by_name["content"] and read.category == by_name["category"]
            assert read.tags == json.loads(by_name["tags"])
            assert read.links == json.loads(by_name["links"])
            assert read.expanded_keywords == by_name["expanded_keywords"]
            assert read.importance == by_name["importance"]
            assert read.is_sensitive is bool(by_name["is_sensitive"])
            assert (read.project, read.source) == (by_name["project"], by_name["source"])
            assert (read.created_ms, read.updated_ms, read.deleted_ms) == (
                by_name["created_ms"],
                by_name["updated_ms"],
                by_name["deleted_ms"],
            )
            assert read.field_hlc == json.loads(by_name["field_hlc"])
            assert read.supersedes == by_name["supersedes"]
    assert rows.memory_from_row(row).supersedes == older.id
