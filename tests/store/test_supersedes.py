"""The newer memory wins: `supersedes` in the real store. The older memory is kept for history,
never ranks above its successor, and comes back when the successor is deleted."""

from __future__ import annotations

import functools
from typing import Any

import aiosqlite
import pytest

from memory_core.errors import InvalidInput
from memoryd.store.memories import Change, MemoryStore, NewMemory, RecallQuery
from memoryd.store.succession import successors_sql
from tests.succession import QUESTION, store_succession


async def _store(store: MemoryStore, content: str, **fields: object) -> str:
    created = await store.create(NewMemory(content, **fields))  # type: ignore[arg-type]
    return created.memory.id


async def _ranked(store: MemoryStore, context: str, **query: object) -> list[str]:
    found = await store.recall(RecallQuery(context, **query))  # type: ignore[arg-type]
    return [m.id for m, _ in found]


async def test_the_successor_ranks_above_the_memory_it_replaces(store: MemoryStore) -> None:
    old, new = await store_succession(functools.partial(_store, store))
    ranked = await _ranked(store, QUESTION)
    assert ranked.index(new) < ranked.index(old)
    scores = dict((m.id, s) for m, s in await store.recall(RecallQuery(QUESTION)))
    assert scores[old] <= scores[new] / 2
    assert (await store.get(new)).supersedes == old
    assert (await store.get(old)).supersedes is None  # the older one is kept as it was


async def test_the_successor_is_recalled_wherever_the_old_one_would_be(
    store: MemoryStore,
) -> None:
    old = await _store(store, "The staging cluster runs in us-east-1")
    # Shares no word with the question: only its predecessor brings it.
    new = await _store(
        store, "Moved next to prod-eu in eu-west-1, separate AWS account", supersedes=old
    )
    evidence = await store.recall_evidence(RecallQuery("which region is the staging cluster in"))
    ids = [r.memory.id for r in evidence]
    assert ids[:2] == [new, old]
    by_id = {r.memory.id: r for r in evidence}
    assert by_id[old].evidence.superseded_by == new
    assert by_id[new].evidence.superseded_by is None
    # It takes on the evidence of the memory it replaced (the hooks decide on it).
    assert by_id[new].evidence.covered == by_id[old].evidence.covered > 0


async def test_a_chain_resolves_to_its_live_head_and_an_undo_restores_the_old_one(
    store: MemoryStore,
) -> None:
    first = await _store(store, "Python dependencies are managed with pip-tools")
    second = await _store(store, "Python dependencies are managed with Poetry", supersedes=first)
    third = await _store(store, "Python dependencies are managed with uv now", supersedes=second)
    ranked = await _ranked(store, "python dependencies managed")
    assert ranked[0] == third
    evidence = {
        r.memory.id: r.evidence.superseded_by
        for r in await store.recall_evidence(RecallQuery("python dependencies managed"))
    }
    assert evidence == {first: third, second: third, third: None}
    await store.delete(third)
    assert (await _ranked(store, "python dependencies managed"))[0] == second
    await store.delete(second)
    assert await _ranked(store, "python dependencies managed") == [first]


async def test_in_other_orders_the_old_one_follows_its_successor(store: MemoryStore) -> None:
    old = await _store(store, "Deploys go through Vercel", importance=1.0)
    new = await _store(store, "Deploys go through Argo CD now", importance=0.2, supersedes=old)
    for order in ("importance", "recency"):
        assert await _ranked(store, "deploys", sort_by=order) == [new, old]


async def test_a_prefix_names_the_memory_and_the_full_id_is_kept(store: MemoryStore) -> None:
    old = await _store(store, "Team lunch is on Fridays")
    new = await _store(store, "Team lunch moved to Thursdays", supersedes=old[:13].upper())
    assert (await store.get(new)).supersedes == old


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("0000dead-beef-7000-8000-000000000000", "no memory with id"),
        ("not an id", "is not a memory id"),
        ("deleted", "was deleted"),
    ],
)
async def test_a_bad_supersedes_is_a_422_and_stores_nothing(
    store: MemoryStore, target: str, words: str
) -> None:
    if target == "deleted":
        target = await _store(store, "Short-lived memory")
        await store.delete(target)
    before = await store.count()
    with pytest.raises(InvalidInput, match=f"supersedes: .*{words}.*nothing was stored"):
        await store.create(NewMemory("The newer fact", supersedes=target))
    assert await store.count() == before


async def test_storing_the_same_text_again_as_a_replacement_links_it(
    store: MemoryStore,
) -> None:
    old = await _store(store, "Reviews need two approvals")
    same = await _store(store, "Reviews need one approval since Q2")
    created = await store.create(NewMemory("Reviews need one approval since Q2", supersedes=old))
    assert created.duplicate_of == same
    assert (await store.get(same)).supersedes == old


async def test_an_import_keeps_links_it_can_resolve_and_drops_the_others(
    store: MemoryStore,
) -> None:
    old_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
    result = await store.import_many(
        [
            NewMemory("Builds run on Jenkins", id=old_id),
            NewMemory("Builds run on GitHub Actions", supersedes=old_id),
            NewMemory("Logs go to Loki", supersedes="0000dead-beef-7000-8000-000000000000"),
        ]
    )
    assert result.imported == 3
    linked, orphan = [await store.get(r["id"]) for r in result.results[1:]]
    assert linked.supersedes == old_id
    assert orphan.supersedes is None


async def test_finding_successors_reads_their_index_even_without_statistics(
    store: MemoryStore,
) -> None:
    # Recall asks this for every candidate of every query; a plan over the live-rows index
    # instead reads every live memory (3 ms at 10k, on each prompt).
    for n in range(20):
        await _store(store, f"memory number {n}")
    async with store.db.reader() as conn:
        assert not await conn.execute_fetchall(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
        )
        plan = await conn.execute_fetchall(
            "EXPLAIN QUERY PLAN " + successors_sql(3), ("a", "b", "c")
        )
    assert any("USING INDEX memories_supersedes" in row[3] for row in plan), plan


async def test_a_replicated_supersedes_is_checked_and_applied(store: MemoryStore) -> None:
    old = await _store(store, "Builds run on Jenkins")
    hlc = (store.clock.now_ms() + 1000) << 16
    new_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"
    fields = {"content": "Builds run on GitHub Actions", "supersedes": old}

    def apply(change: Change) -> Any:
        async def job(conn: aiosqlite.Connection) -> bool:
            return await store.apply_remote(conn, change)

        return store.db.write(job)

    bad = Change(new_id, "put", hlc, {**fields, "supersedes": "not an id!"})
    with pytest.raises(InvalidInput, match="supersedes must be a memory id"):
        await apply(bad)
    assert await apply(Change(new_id, "put", hlc, fields))
    assert (await store.get(new_id)).supersedes == old
    assert (await _ranked(store, "builds run on"))[:2] == [new_id, old]
