"""`recall_sql` alone: the statements a recall query becomes, before any database is touched;
and that they run on the real schema."""

from __future__ import annotations

import pytest

from memory_core.errors import InvalidInput
from memory_core.recall import ranking
from memoryd.store.memories import MemoryStore, NewMemory, RecallQuery
from memoryd.store.recall_sql import recall_sql


def test_a_category_filters_inside_the_index_and_after_the_join() -> None:
    sql = recall_sql(RecallQuery(context="kafka", category="Preference"))
    params = sql.search_params('"kafka"')
    assert sql.search.count("?") == len(params)
    assert params.count("preferences") == 2  # normalised, bound in both places
    assert "m.category = ?" in sql.filters and sql.filter_args == ("preferences",)


def test_leaving_sensitive_memories_out_fetches_a_margin_more() -> None:
    every = recall_sql(RecallQuery(context="kafka", limit=10))
    open_only = recall_sql(RecallQuery(context="kafka", limit=10, include_sensitive=False))
    assert every.pool == open_only.pool == max(10 * ranking.POOL_FACTOR, ranking.POOL_MIN)
    fetched = every.search_params("kafka")[1]
    assert open_only.search_params("kafka")[1] > fetched == every.pool
    assert "m.is_sensitive = 0" in open_only.filters
    assert "is_sensitive" not in every.filters


def test_a_query_may_ask_for_fewer_candidates_than_the_default_pool() -> None:
    default = recall_sql(RecallQuery(context="kafka", limit=12))
    fewer = recall_sql(RecallQuery(context="kafka", limit=12, candidates=30))
    assert default.pool == max(12 * ranking.POOL_FACTOR, ranking.POOL_MIN) > fewer.pool == 30
    assert fewer.search_params("kafka")[1] == 30


def test_the_dense_rows_statement_binds_each_rowid_and_the_filters() -> None:
    sql = recall_sql(RecallQuery(context="kafka", category="facts", include_sensitive=False))
    text, args = sql.rows([7, 3, 11])
    assert text.count("?") == len(args) and args == (7, 3, 11, "facts")


def test_an_unknown_category_is_refused_before_any_query() -> None:
    with pytest.raises(InvalidInput, match="unknown category"):
        recall_sql(RecallQuery(context="kafka", category="recipes"))


async def test_the_statements_run_on_the_real_schema(store: MemoryStore) -> None:
    created = await store.create(NewMemory(content="kafka consumer lag alert", category="facts"))
    sql = recall_sql(RecallQuery(context="kafka", category="facts"))
    async with store.db.reader() as conn:
        found = await conn.execute_fetchall(sql.search, sql.search_params('"kafka"'))
        (row,) = found
        dense = await conn.execute_fetchall(*sql.rows([row["rowid"]]))
    assert row["id"] == created.memory.id and row["bm"] < 0
    assert [r["id"] for r in dense] == [created.memory.id]
