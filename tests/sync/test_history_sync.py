"""History and the trash across replicas (real hub on PostgreSQL): a change pulled by sync is
recorded as sync's, from the replica that made it; a delete pulled from another replica puts
the memory in this one's trash; and a restore is a new memory (a new write with a newer HLC)
that replicates, while the delete of the old id stands everywhere."""

from __future__ import annotations

from typing import Any

from memoryd.store.history import History
from memoryd.store.memories import NewMemory, Patch
from tests.sync.test_engine import world

__all__ = ["world"]


async def test_history_and_restore_replicate(world: Any) -> None:
    _hub, _, make = world
    a, b = await make("a"), await make("b")
    created = await a.store.create(NewMemory("The cafeteria closes at 15:00", tags=["office"]))
    memory_id = created.memory.id
    await a.store.update(memory_id, Patch(content="The cafeteria closes at 16:00"))
    await a.engine.sync_once()
    await b.engine.sync_once()

    on_b = await History(b.store).versions(memory_id)
    assert [(v.action, v.origin, v.replica) for v in on_b] == [
        ("changed", "sync", a.replica_id),
        ("created", "sync", a.replica_id),
    ]
    assert on_b[0].fields["content"] == "The cafeteria closes at 16:00"
    on_a = await History(a.store).versions(memory_id)
    assert [(v.action, v.origin, v.replica) for v in on_a] == [
        ("changed", "edit", a.replica_id),
        ("created", "manual", a.replica_id),
    ]

    await a.store.delete(memory_id)
    await a.engine.sync_once()
    await b.engine.sync_once()
    [trashed] = await History(b.store).trash(10)
    assert (trashed.memory_id, trashed.origin, trashed.replica) == (memory_id, "sync", a.replica_id)
    assert trashed.fields["content"] == "The cafeteria closes at 16:00"

    restored = (await History(b.store).restore(trashed.seq)).memory
    assert restored.id != memory_id
    assert restored.field_hlc["content"] > max(created.memory.field_hlc.values())
    await b.engine.sync_once()
    await a.engine.sync_once()
    back_on_a = await a.store.get(restored.id)
    assert back_on_a.content == "The cafeteria closes at 16:00" and back_on_a.tags == ["office"]
    assert await a.snapshot() == await b.snapshot()
    assert (await a.snapshot())[memory_id] == "deleted"
