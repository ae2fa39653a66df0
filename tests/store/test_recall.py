"""Recall through the real store: the FTS query builder never raises on any text, and the
ranking properties the issue asks for hold."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memoryd.store.memories import MemoryStore, NewMemory, RecallQuery
from tests.conftest import FakeClock

NASTY = [
    '"',
    "'",
    "(",
    ")",
    "*",
    "-",
    ":",
    "^",
    "+",
    "NEAR",
    "NEAR(",
    "AND",
    "OR",
    "NOT",
    "and",
    "content:",
    "tags:",
    "{",
    "}",
    "[",
    "]",
    "\\",
    "\x00",
    "🦀",
    "💥🔥",
    "naïve",
    "日本語",
    "Ωμέγα",
    "-foo",
    "foo*",
    '"unterminated',
    "a''b",
    " ",
    "\t\n",
    "",
]

text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=12)), max_size=12).map(" ".join)


async def seed(store: MemoryStore) -> None:
    for content in (
        "Kafka consumer lag alert fires at ten thousand messages",
        "NEAR the office: a taco place (open late) — 'best' tacos",
        "Emoji test 🦀 rust crab and naïve café",
        "OR AND NOT are words here too: operators",
    ):
        await store.create(NewMemory(content, tags=["seed"]))


def test_fts_query_builder_never_raises(store: MemoryStore) -> None:
    loop = asyncio.new_event_loop()
    seen: list[int] = []
    try:
        loop.run_until_complete(seed(store))

        @settings(
            max_examples=300,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(context=text, expanded=text, sort_by=st.sampled_from(["relevance", "recency"]))
        def check(context: str, expanded: str, sort_by: str) -> None:
            query = RecallQuery(context=context, expanded_query=expanded, sort_by=sort_by)  # type: ignore[arg-type]
            results = loop.run_until_complete(store.recall(query))
            assert isinstance(results, list)
            seen.append(len(results))
            assert all(score > 0 for _memory, score in results)

        check()
        assert len(seen) >= 100 and any(seen)  # it ran, and some queries found something
    finally:
        loop.close()


async def ids_for(store: MemoryStore, context: str, **kwargs: object) -> list[str]:
    results = await store.recall(RecallQuery(context=context, **kwargs))  # type: ignore[arg-type]
    return [memory.id for memory, _score in results]


async def test_importance_cannot_push_a_less_relevant_memory_above(store: MemoryStore) -> None:
    relevant = await store.create(
        NewMemory("The staging database runs PostgreSQL 16 on port 5433", importance=0.0)
    )
    loud = await store.create(
        NewMemory("We talked about the database budget over lunch", importance=1.0)
    )
    for n in range(20):  # a corpus, so that BM25 has document frequencies to work with
        await store.create(NewMemory(f"Unrelated note {n} about gardening and tomatoes"))
    order = await ids_for(store, "staging database postgresql port")
    assert order[:2] == [relevant.memory.id, loud.memory.id]
    by_importance = await ids_for(store, "staging database postgresql port", sort_by="importance")
    assert by_importance[0] == loud.memory.id  # only when asked for


async def test_the_given_project_ranks_above_equally_relevant_others(
    store: MemoryStore, clock: FakeClock
) -> None:
    alpha = await store.create(
        NewMemory("Run the test suite with make check before pushing", project="alpha")
    )
    beta = await store.create(
        NewMemory("Run the test suite with make check before merging", project="beta")
    )
    plain = await store.create(NewMemory("Run the test suite with make check before tagging"))
    assert (await ids_for(store, "run test suite make check", project="alpha"))[0] == (
        alpha.memory.id
    )
    assert (await ids_for(store, "run test suite make check", project="beta"))[0] == (
        beta.memory.id
    )
    everything = await ids_for(store, "run test suite make check", project="gamma")
    assert set(everything) == {alpha.memory.id, beta.memory.id, plain.memory.id}
    assert everything[0] == plain.memory.id  # unscoped beats another project's


async def test_more_query_terms_outrank_one_and_partial_matches_are_found(
    store: MemoryStore,
) -> None:
    full = await store.create(NewMemory("Kafka consumer lag alert fires at ten thousand"))
    one = await store.create(NewMemory("Alert routing goes to the on-call channel"))
    two = await store.create(NewMemory("The Kafka cluster has three brokers"))
    for n in range(20):
        await store.create(NewMemory(f"Filler memory {n} about cooking pasta"))
    order = await ids_for(store, "kafka consumer lag alert")
    assert order[0] == full.memory.id
    assert one.memory.id in order and two.memory.id in order
    assert order.index(full.memory.id) < order.index(one.memory.id)
    # Stemming: another form of the words still matches.
    assert (await ids_for(store, "alerting consumers"))[0] == full.memory.id
