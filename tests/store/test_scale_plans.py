"""Statements that run on every session start or every prompt must read an index, not every
memory: at a million memories (bench/scale_bench.py) a scan costs seconds. SQLite chooses
plans without statistics on a fresh store, so these check the plans there."""

from __future__ import annotations

import random
from typing import Any

import aiosqlite
import pytest

from memory_core.recall import fts
from memoryd.store import links, reads
from memoryd.store.memories import MemoryStore, NewMemory, RecallQuery
from memoryd.store.recall_sql import narrow, recall_sql

# The statement `reads.standing` replaced: the same rows, found by sorting every live memory.
_ONE_STATEMENT = (
    f"SELECT m.id, coalesce(u.recalled + u.injected, 0) AS uses FROM memories m "
    f"LEFT JOIN memory_usage u ON u.memory_id = m.id WHERE {reads._INJECTABLE} "
    "AND (m.project IS NULL OR m.project IS ?) "
    "ORDER BY m.importance DESC, m.updated_ms DESC, m.rowid DESC LIMIT ?"
)


async def _mixed_store(store: MemoryStore) -> None:
    rng = random.Random(5)
    ids: list[str] = []
    for n in range(120):
        created = await store.create(
            NewMemory(
                f"note {n} about the {rng.choice(['build', 'deploy', 'schema'])}",
                importance=rng.choice([0.3, 0.5, 0.5, 0.8]),  # ties, broken by recency and rowid
                project=rng.choice([None, None, "ledger", "lumen", "kestrel"]),
                force_sensitive=n % 17 == 0,
                supersedes=ids[n - 3] if n % 11 == 0 and n > 3 else None,
            )
        )
        ids.append(created.memory.id)
    for gone in ids[5:40:9]:
        await store.delete(gone)


async def test_the_profile_candidates_are_read_in_index_order(store: MemoryStore) -> None:
    await _mixed_store(store)
    async with store.db.reader() as conn:
        plan = await conn.execute_fetchall(
            "EXPLAIN QUERY PLAN " + reads._STANDING, {"project": "ledger", "limit": 10}
        )
    details = [row[3] for row in plan]
    assert sum("USING INDEX memories_standing (project=?)" in d for d in details) == 2, details
    assert not any(d.startswith("SCAN m") for d in details), details


async def test_the_profile_candidates_are_those_of_one_statement(store: MemoryStore) -> None:
    await _mixed_store(store)
    for project in ("ledger", "lumen", "nowhere", None):
        for limit in (1, 7, 40, 500):
            standing, _ = await store.standing(project, limit)
            async with store.db.reader() as conn:
                expected = await conn.execute_fetchall(_ONE_STATEMENT, (project, limit))
            assert [(m.id, uses) for m, uses in standing] == [tuple(r) for r in expected]


async def test_the_projects_are_found_by_seeking_not_reading_every_memory(
    store: MemoryStore,
) -> None:
    await _mixed_store(store)
    gone = await store.create(NewMemory("only a tombstone is left of this", project="gone"))
    await store.delete(gone.memory.id)
    async with store.db.reader() as conn:
        plan = await conn.execute_fetchall("EXPLAIN QUERY PLAN " + reads.PROJECTS)
        distinct = await conn.execute_fetchall(
            "SELECT DISTINCT project FROM memories WHERE project IS NOT NULL AND deleted_ms IS NULL"
        )
    assert all("(project>?)" in row[3] for row in plan if "memories" in row[3]), plan
    _, projects = await store.standing(None, 5)
    assert sorted(projects) == sorted(r[0] for r in distinct) == ["kestrel", "ledger", "lumen"]


_BUDGET = 80  # fts.RANKED_BUDGET, scaled down with the store


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """The narrowing of a million memories, on a store of a few hundred."""
    monkeypatch.setattr(fts, "RANKED_BUDGET", _BUDGET)
    monkeypatch.setattr(fts, "SELECTIVE_FROM", _BUDGET)


async def _common_words_store(store: MemoryStore) -> str:
    """Rows of everyday words (each in half of the store, as common words are in a few percent
    of a million memories: far more rows than the budget), rows of two rarer words, and,
    oldest of all, the one row holding them all."""
    target = await store.create(NewMemory("who owns checkout: deploy it to staging with ansible"))
    rng = random.Random(9)
    common = ["owns", "deploy", "staging"]
    filler = [
        NewMemory(f"note {n}: " + " ".join(w for w in common if rng.random() < 0.5) + " today")
        for n in range(300)
    ]
    filler += [NewMemory(f"ansible role {n} for staging") for n in range(30)]
    filler += [NewMemory(f"checkout service {n} is owned by payments") for n in range(35)]
    await store.import_many(filler)
    return target.memory.id


async def test_a_common_word_query_ranks_only_rows_of_its_rarest_words(
    store: MemoryStore, small_budget: None
) -> None:
    target = await _common_words_store(store)
    context = "who owns checkout and how do I deploy it to staging with ansible"
    plan = fts.plan(context)
    count = "SELECT count(*) FROM memories_fts WHERE memories_fts MATCH ?"
    async with store.db.reader() as conn:
        match = (await narrow(conn, plan, 50)).match
        (every,) = await conn.execute_fetchall(count, (plan.match(),))
        (matched,) = await conn.execute_fetchall(count, (match,))
    # The two rarest words (31 and 36 rows) are within the budget, the next is far past it;
    # the common words are left to bm25 among those rows.
    assert every[0] > 250 and matched[0] == 31 + 36 - 1
    found = await store.recall(RecallQuery(context=context, limit=10))
    assert found[0][0].id == target  # the oldest row, holding every word, still ranks first


async def test_one_common_word_is_ranked_among_the_newest_rows_only(
    store: MemoryStore, small_budget: None
) -> None:
    await _common_words_store(store)
    async with store.db.reader() as conn:
        newest = await conn.execute_fetchall(
            "SELECT id FROM memories WHERE rowid IN (SELECT rowid FROM memories_fts "
            "WHERE memories_fts MATCH 'staging' ORDER BY rowid DESC LIMIT ?)",
            (_BUDGET,),
        )
        (holding,) = await conn.execute_fetchall(
            "SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'staging'"
        )
    found = await store.recall(RecallQuery(context="staging", limit=100))
    assert holding[0] > 2 * _BUDGET  # some are left out ...
    assert {m.id for m, _ in found} == {r[0] for r in newest}  # ... the oldest


async def test_a_category_is_checked_per_matching_row_not_handed_to_fts5(
    store: MemoryStore,
) -> None:
    """`rowid IN (the category's rows)` inside the FTS query made SQLite hand FTS5 one rowid
    after another, each a search of the MATCH: 12.8 s of CPU for one recall of the category
    `facts` (391,755 rows) at a million memories. Each matching row's category is looked up
    instead; the results are the same."""
    await _mixed_store(store)
    for n in range(12):
        await store.create(NewMemory(f"we decided how to deploy part {n}", category="decisions"))
    query = RecallQuery(context="deploy the schema", category="decisions", limit=20)
    sql = recall_sql(query)
    async with store.db.reader() as conn:
        plan = await conn.execute_fetchall(
            "EXPLAIN QUERY PLAN " + sql.search, sql.search_params(fts.plan(query.context).match())
        )
        expected = await conn.execute_fetchall(
            "SELECT m.id FROM memories_fts f JOIN memories m ON m.rowid = f.rowid "
            "WHERE memories_fts MATCH ? AND m.category = 'decisions' AND m.deleted_ms IS NULL",
            (fts.plan(query.context).match(),),
        )
    scans = [row[3] for row in plan if "VIRTUAL TABLE" in row[3]]
    assert scans and all(":M" in s and ":=" not in s for s in scans), scans  # MATCH alone
    found = await store.recall(query)
    assert found and {m.id for m, _ in found} <= {r[0] for r in expected}
    assert all(m.category == "decisions" for m, _ in found)


async def test_candidates_named_by_id_or_rowid_are_read_by_that_key(store: MemoryStore) -> None:
    """The rows recall reads by id (the successors of superseded candidates) or by rowid (the
    semantic leg's hits): without statistics SQLite read them through the live-rows or the
    category index, every live memory, once there were 5 ids or 20 rowids (1.7 s for one
    prompt hook at a million memories)."""
    await _mixed_store(store)
    async with store.db.reader() as conn:
        ids = [r[0] for r in await conn.execute_fetchall("SELECT id FROM memories LIMIT 60")]
        for query in (
            RecallQuery(context="deploy", include_sensitive=False),
            RecallQuery(context="deploy", category="facts"),
        ):
            sql = recall_sql(query)
            for count in (1, 5, 20, 60):
                for statement, args in (
                    sql.rows_by_id(ids[:count]),
                    sql.rows(list(range(1, count + 1))),
                ):
                    plan = await conn.execute_fetchall("EXPLAIN QUERY PLAN " + statement, args)
                    details = [row[3] for row in plan]
                    assert details in (
                        ["SEARCH m USING INDEX sqlite_autoindex_memories_1 (id=?)"],
                        ["SEARCH m USING INTEGER PRIMARY KEY (rowid=?)"],
                    ), (count, query.category, details)


async def test_live_ids_are_read_by_id(store: MemoryStore) -> None:
    await _mixed_store(store)
    async with store.db.reader() as conn:
        ids = [r[0] for r in await conn.execute_fetchall("SELECT id FROM memories LIMIT 40")]
        live = await conn.execute_fetchall("SELECT id FROM memories WHERE deleted_ms IS NULL")
        statements: list[str] = []
        await conn.set_trace_callback(statements.append)
        found = await links.live_ids(conn, ids)
        await conn.set_trace_callback(None)
        # The statement as run, its ids written in.
        (statement,) = [s for s in statements if s.startswith("SELECT id FROM memories")]
        plan = await conn.execute_fetchall("EXPLAIN QUERY PLAN " + statement)
    by_id = "SEARCH memories USING INDEX sqlite_autoindex_memories_1 (id=?)"
    assert [row[3] for row in plan] == [by_id]
    assert found == set(ids) & {r[0] for r in live}


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """The statements run from now on (until `monkeypatch.undo()`), with their parameters."""
    run: list[tuple[str, Any]] = []
    for name in ("execute", "execute_fetchall"):
        original = getattr(aiosqlite.Connection, name)

        def recording(self: Any, sql: str, *args: Any, _original: Any = original) -> Any:
            run.append((sql, args[0] if args else ()))
            return _original(self, sql, *args)

        monkeypatch.setattr(aiosqlite.Connection, name, recording)
    return run


async def test_the_summary_reads_each_row_once_at_most(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`memory status` (/api/stats): filtering on the live-rows index looked up every live row
    by rowid, once per count (6.2 s of CPU at a million memories). Its counts are those of a
    statement per count, as before."""
    await _mixed_store(store)
    await store.import_many([NewMemory(f"imported {n}", source="import") for n in range(7)])
    run = _recording(monkeypatch)
    stats = await store.stats()
    monkeypatch.undo()
    async with store.db.reader() as conn:
        for statement, params in [(s, p) for s, p in run if "FROM memories" in s]:
            plan = await conn.execute_fetchall("EXPLAIN QUERY PLAN " + statement, params)
            details = [row[3] for row in plan]
            assert not any("memories_live_updated" in d for d in details), details
        expected: dict[str, Any] = {}
        for column in ("category", "project", "source"):
            rows = await conn.execute_fetchall(
                f"SELECT COALESCE({column}, ''), COUNT(*) FROM memories "
                f"WHERE deleted_ms IS NULL GROUP BY 1"
            )
            expected[f"by_{column}"] = dict(rows)
        (totals,) = await conn.execute_fetchall(
            "SELECT COUNT(*) FILTER (WHERE deleted_ms IS NULL), "
            "COUNT(*) FILTER (WHERE deleted_ms IS NULL AND is_sensitive = 1), "
            "COUNT(*) FILTER (WHERE deleted_ms IS NOT NULL) FROM memories"
        )
    expected["by_project"].pop("", None)
    for key in ("by_category", "by_project", "by_source"):
        assert stats[key] == expected[key]
        assert list(stats[key].values()) == sorted(stats[key].values(), reverse=True)
    assert (stats["total"], stats["sensitive"], stats["deleted"]) == tuple(totals)
    assert stats["deleted"] > 0 and stats["sensitive"] > 0 and len(stats["by_source"]) == 2


# `reads.most_important` before: the project's rows, sorted whole (0.1-0.2 s at 1M).
_MOST_IMPORTANT_BEFORE = (
    f"SELECT m.id FROM memories m WHERE {reads._INJECTABLE} AND m.project IS ? "
    "ORDER BY (m.project IS ?) DESC, m.importance DESC, m.updated_ms DESC LIMIT ?"
)


async def test_the_pre_compact_top_is_read_in_index_order(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _mixed_store(store)
    for project in ("ledger", "lumen", "nowhere", None):
        for limit in (1, 3, 10, 40):
            top = await store.most_important(project, limit)
            async with store.db.reader() as conn:
                expected = await conn.execute_fetchall(
                    _MOST_IMPORTANT_BEFORE, (project, project, limit)
                )
            assert [m.id for m in top] == [r[0] for r in expected], (project, limit)
    run = _recording(monkeypatch)
    await store.most_important("ledger", 10)
    monkeypatch.undo()
    ((statement, params),) = run
    async with store.db.reader() as conn:
        plan = await conn.execute_fetchall("EXPLAIN QUERY PLAN " + statement, params)
    plan = [row[3] for row in plan]
    assert "SEARCH m USING INDEX memories_standing (project=?)" in plan, plan
    # Ties in importance and time are put in order among themselves only.
    assert not any("TEMP B-TREE FOR ORDER BY" in d for d in plan), plan
