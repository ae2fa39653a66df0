"""Import through the real store: ids are normalised like every other id the store is given."""

from __future__ import annotations

import pytest

from memory_core.errors import InvalidInput
from memoryd.store.memories import MemoryStore, NewMemory

UPPER_ID = "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B"


async def test_an_imported_id_in_capitals_is_stored_as_ids_are_looked_up(
    store: MemoryStore,
) -> None:
    first = await store.import_many(
        [NewMemory(content="the deploy key rotates monthly", id=UPPER_ID)]
    )
    assert first.results[0]["id"] == UPPER_ID.lower()
    assert (await store.get(UPPER_ID)).content == "the deploy key rotates monthly"

    # Importing the same export again skips the known id instead of failing the batch.
    again = await store.import_many([NewMemory(content="another text", id=UPPER_ID)])
    assert (again.existing, again.imported) == (1, 0)
    assert again.results == [{"id": UPPER_ID.lower(), "status": "exists"}]


async def test_a_malformed_id_names_its_item(store: MemoryStore) -> None:
    items = [NewMemory(content="fine"), NewMemory(content="also fine", id="not an id")]
    with pytest.raises(InvalidInput, match=r"^item 1: 'not an id' is not a memory id$"):
        await store.import_many(items)
    assert await store.count() == 0


async def test_one_batch_checks_each_item_against_the_items_before_it(store: MemoryStore) -> None:
    """A batch's ids and texts are looked up at once: an item must still see what the items
    before it in the same batch wrote, and a stored memory deleted since must not count."""
    gone = (await store.import_many([NewMemory(content="a text deleted since")])).results[0]
    await store.delete(gone["id"])
    kept = (await store.import_many([NewMemory(content="a text stored before")])).results[0]
    first_id, second_id = (
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a01",
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a02",
    )
    done = await store.import_many(
        [
            NewMemory(content="the first text", id=first_id),
            NewMemory(content="another text, same id", id=first_id),
            NewMemory(content="The  FIRST text", id=second_id),
            NewMemory(content="a second text", id=second_id),
            NewMemory(content="a text deleted since"),
            NewMemory(content="A text stored before"),
            NewMemory(content="a second text"),
        ]
    )
    assert [r["status"] for r in done.results] == [
        "imported",
        "exists",
        "duplicate",
        "imported",
        "imported",
        "duplicate",
        "duplicate",
    ]
    assert [r["id"] for r in done.results][:4] == [first_id, first_id, first_id, second_id]
    assert done.results[5]["id"] == kept["id"]
    assert done.results[6]["id"] == second_id
    assert (done.imported, done.duplicates, done.existing) == (3, 3, 1)
