"""Recall ranking properties, on a real store (in-process SQLite with FTS5)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from memory_core.recall import fts, ranking
from memoryd.store.memories import MemoryStore, NewMemory, RecallQuery
from tests.conftest import FakeClock


async def _ids(store: MemoryStore, **query: object) -> list[str]:
    results = await store.recall(RecallQuery(**query))  # type: ignore[arg-type]
    return [m.content or "" for m, _ in results]


async def test_most_terms_outrank_one_and_partial_matches_are_found(store: MemoryStore) -> None:
    await store.create(NewMemory(content="the staging cluster runs in eu-west-1 on kubernetes"))
    await store.create(NewMemory(content="cluster headaches are no fun"))
    await store.create(NewMemory(content="lunch is at noon"))
    found = await _ids(store, context="which region is the staging kubernetes cluster in")
    assert found[0].startswith("the staging cluster")
    assert "cluster headaches are no fun" in found
    assert "lunch is at noon" not in found


async def test_importance_does_not_beat_clear_relevance(store: MemoryStore) -> None:
    await store.create(
        NewMemory(content="postgres backups run nightly with pg_dump to s3", importance=0.1)
    )
    await store.create(NewMemory(content="postgres is the main database", importance=1.0))
    found = await _ids(store, context="how are postgres backups done nightly")
    assert found[0].startswith("postgres backups")


async def test_same_project_ranks_above_equally_relevant_others(store: MemoryStore) -> None:
    await store.create(NewMemory(content="deploy with make release", project="alpha"))
    await store.create(NewMemory(content="deploy with make release now", project="beta"))
    for project in ("alpha", "beta"):
        results = await store.recall(RecallQuery(context="deploy release", project=project))
        assert results[0][0].project == project


async def test_context_terms_count_more_than_expansion_terms(store: MemoryStore) -> None:
    await store.create(NewMemory(content="the invoice service is written in go"))
    await store.create(NewMemory(content="billing happens monthly"))
    found = await _ids(store, context="invoice service", expanded_query="billing")
    assert found[0].startswith("the invoice service")
    assert "billing happens monthly" in found


async def test_phrase_beats_scattered_words(store: MemoryStore, clock: FakeClock) -> None:
    await store.create(NewMemory(content="group work on the support rota, then a group lunch"))
    await store.create(NewMemory(content="she joined a support group last week, then lunch"))
    found = await _ids(store, context="support group")
    assert found[0].startswith("she joined a support group")


async def test_deleted_and_sensitive_rows_are_not_recalled(store: MemoryStore) -> None:
    kept = await store.create(NewMemory(content="the wiki lives on confluence"))
    gone = await store.create(NewMemory(content="the wiki used to live on mediawiki"))
    await store.delete(gone.memory.id)
    results = await store.recall(RecallQuery(context="wiki", include_sensitive=False))
    assert [m.id for m, _ in results] == [kept.memory.id]


def test_plan_weights_context_above_expansion() -> None:
    plan = fts.plan("What kind of art does Caroline make?", "painting art")
    assert plan.terms == ["art", "caroline", "make", "painting"]
    assert plan.weights == [1.0, 1.0, 1.0, fts.EXPANDED_WEIGHT]
    assert fts.plan("the of and", "").terms == ["the", "of", "and"]
    assert fts.plan("the of", "kubernetes").terms == ["kubernetes"]
    # Stopwords in the expansion are dropped when any content word exists, in either field:
    # each one matches most of the store and made the slowest recalls (bench/recall_latency.py).
    assert fts.plan("kubernetes staging", "the for their").terms == ["kubernetes", "staging"]
    assert fts.plan("the to", "the a").match() == '"the to"'


async def test_a_query_of_stopwords_only_is_matched_as_a_phrase(store: MemoryStore) -> None:
    await store.create(NewMemory(content="we saw The Who live in 1979"))
    await store.create(NewMemory(content="the cat who sat on the mat"))
    await store.create(NewMemory(content="who is the owner of billing"))
    assert await _ids(store, context="The Who?") == ["we saw The Who live in 1979"]
    assert await _ids(store, context="to be or not to be") == []


def test_coverage_and_proximity_are_bounded() -> None:
    assert ranking.coverage([True, False], [1.0, 1.0]) == 0.5
    assert ranking.coverage([], []) == 0.0
    wanted = ["support", "group"]
    assert fts.adjacent_pairs(wanted, fts.positions("a support group", wanted)) == 1.0
    far = "support " + "x " * 9 + "group"
    assert fts.adjacent_pairs(wanted, fts.positions(far, wanted)) == 0.0
    assert ranking.lexical(-5.0, -10.0, 1.0, 1.0) <= 1 + ranking.PROXIMITY_BONUS


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_query_builder_never_raises(context: str, expanded: str) -> None:
    plan = fts.plan(context, expanded)
    assert len(plan.terms) == len(plan.weights) <= fts.MAX_TERMS
    assert all('"' not in t or '""' in fts.quote(t) for t in plan.terms)


async def test_any_text_is_a_valid_match_expression(store: MemoryStore) -> None:
    await store.create(NewMemory(content='odd "quoted" AND NEAR(x y) col:umn * ^ - text'))
    for text in ['"', "AND OR NOT", "NEAR(a b)", "col:umn*", "^-", "ünïcödé 日本語", "'"]:
        await store.recall(RecallQuery(context=text, expanded_query=text))
    found = await _ids(store, context='"quoted" NEAR col:umn')
    assert found and found[0].startswith("odd")


_ROW_TEXT = st.text(alphabet=st.sampled_from(list("abcXYZ09 '_’-.,:é\"\n")), max_size=40)


@settings(max_examples=500, deadline=None)
@given(_ROW_TEXT | st.text(max_size=40))
def test_fast_row_tokenizer_equals_the_query_regex(text: str) -> None:
    assert fts.tokens(text) == fts._WORD.findall(text.lower())


def test_common_words_leave_the_match_only_when_rarer_words_fill_the_pool() -> None:
    terms = ["caroline", "paint", "sunrise"]
    few = fts.SELECTIVE_FROM // 4
    # Few matching rows in all: every word is matched.
    assert fts.selective(terms, [few, 3, 2], 10_000, 50) == terms
    # Many rows, and the uncommon words alone match enough to fill the pool of 50.
    assert fts.selective(terms, [5_000, 40, 30], 10_000, 50) == ["paint", "sunrise"]
    # Many rows, but the uncommon words match too few: the common one stays.
    assert fts.selective(terms, [5_000, 20, 10], 10_000, 50) == terms
    # Every word common: nothing to leave out.
    assert fts.selective(terms, [5_000, 4_000, 3_000], 10_000, 50) == terms


def test_in_a_large_store_only_the_rarest_words_within_the_budget_are_matched() -> None:
    budget, big = fts.RANKED_BUDGET, 100 * fts.RANKED_BUDGET
    terms = ["deploy", "checkout", "staging", "owns"]
    # Each under the common share, but together far past the budget: the rarest that fit.
    counts = [budget // 2, budget // 3, budget + 1, budget // 4]
    assert fts.selective(terms, counts, big, 50) == ["checkout", "owns"]
    # Every word past the budget: the rarest alone (the first of equals).
    assert fts.selective(terms, [budget + 1] * 4, big, 50) == ["deploy"]
    # The rarest alone cannot fill the pool, but the next is past the budget: the rarest alone.
    assert fts.selective(terms, [budget + 1, 10, budget + 1, budget - 5], big, 50) == ["checkout"]
    # A word in no row (a typo) is no rarest word: the rarest that holds rows is matched too.
    assert fts.selective(["deploi", *terms[:2]], [0, budget + 1, budget + 1], big, 50) == [
        "deploi",
        "deploy",
    ]
    # Within the budget, or a store no larger than it: as before.
    assert fts.selective(terms, [900, 800, 700, 600], big, 50) == terms
    assert fts.selective(terms, [5_000, 4_000, 3_000, 2_000], budget, 50) == terms


async def test_rows_holding_a_common_word_too_still_rank_first(store: MemoryStore) -> None:
    """With the MATCH narrowed to rows holding the rarer words, the common word still counts."""
    common = [NewMemory(content=f"caroline said hello, note {i}") for i in range(1_500)]
    rare = [NewMemory(content=f"someone painted a sunrise, note {i}") for i in range(40)]
    await store.import_many([*common, *rare])
    await store.create(NewMemory(content="caroline painted a sunrise at the lake"))
    found = await _ids(store, context="what did caroline paint at sunrise", limit=10)
    assert found[0] == "caroline painted a sunrise at the lake"
    assert not any(text.startswith("caroline said") for text in found)
    # The lake is in one row only, too few to fill the pool: the common word is matched too.
    found = await _ids(store, context="caroline lake", limit=10)
    assert found[0] == "caroline painted a sunrise at the lake"
    assert sum(text.startswith("caroline said") for text in found) == 9


_STEMMED_TEXTS = [
    "Deploying the deployments: deployed, deploys, deployer's notes",
    "businesses and business, busy ness; the nationalization of rationalizing",
    "Caroline's café — naïve résumés, Straße and ÉCOLE, o'clock rock'n'roll",
    "tests testing tested tester testers testings; a quickly quick quickest",
    "",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*fts.tokens(" ".join(_STEMMED_TEXTS)), "zz"]), max_size=6))
def test_surface_forms_find_the_positions_stemming_finds(query: list[str]) -> None:
    """Recall looks the candidates' words up among the query stems' surface forms instead of
    stemming each word (fts.positions_of): the same positions, in the same order."""
    wanted = [fts.stem(word) for word in query]
    forms = fts.surface_forms(wanted)
    for text in _STEMMED_TEXTS:
        found = fts.positions_of(text, forms)
        assert found == fts.positions(text, set(wanted))
        assert list(found) == list(fts.positions(text, set(wanted)))
