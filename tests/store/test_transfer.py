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
