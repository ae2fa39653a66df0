"""A memory read back from its row (memoryd.store.rows.memory_from_row): its JSON columns, the
empty lists read without the decoder included."""

from __future__ import annotations

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
