"""Recall rescores every lexical candidate of every query (~60 a prompt); `FoundRelevance` does
the per-query part of `found_relevance` once. It must give the same score to the last bit as
the definition it replaced (written out here), on any text and query."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from memory_core.recall import fts, ranking

# Words with the suffixes `fts.stem` strips, so that texts hold several forms of a query word.
ROOTS = ("deploy", "support", "group", "kestrel", "cache", "a", "the", "runner")
SUFFIXES = ("", "s", "ed", "ing", "er", "ers", "ly", "ment", "ation", "'s")
words = st.builds(lambda r, s: r + s, st.sampled_from(ROOTS), st.sampled_from(SUFFIXES))
separators = st.sampled_from((" ", "  ", ", ", ". ", "-", "\n", " ’ ", "/"))


def previous_found_relevance(
    found: Mapping[str, list[int]],
    bm25: float,
    best_bm25: float,
    wanted: Sequence[str],
    weights: Sequence[float],
) -> float:
    """`ranking.found_relevance` as it was defined before FoundRelevance."""
    covered = ranking.coverage([w in found for w in wanted], weights)
    terms = list(wanted)
    pairs = [(a, b) for a, b in itertools.pairwise(terms) if a != b]
    if not pairs or len(found) < 2:
        near = 0.0
    else:
        hits = 0
        for a, b in pairs:
            if any(abs(i - j) <= 3 for i in found.get(a, ()) for j in found.get(b, ())):
                hits += 1
        near = hits / len(pairs)
    return ranking.lexical(bm25, best_bm25, covered, near)


@settings(max_examples=400, deadline=None)
@given(
    text=st.lists(st.tuples(words, separators), max_size=40).map(
        lambda parts: "".join(w + s for w, s in parts)
    ),
    query=st.lists(words, min_size=1, max_size=8),
    weights=st.lists(st.sampled_from((1.0, 0.5, 0.0, 0.3)), min_size=8, max_size=8),
    bm25=st.floats(-40.0, 0.0),
    best=st.floats(-40.0, 0.0),
)
def test_found_relevance_is_the_previous_definition(
    text: str, query: list[str], weights: list[float], bm25: float, best: float
) -> None:
    wanted = [fts.stem(w) for w in query]
    chosen = weights[: len(wanted)]
    found = fts.positions_of(text, fts.surface_forms(wanted))
    assert found == fts.positions(text, set(wanted))
    before = previous_found_relevance(found, bm25, best, wanted, chosen)
    assert ranking.FoundRelevance(wanted, chosen)(found, bm25, best) == before
    assert ranking.found_relevance(found, bm25, best, wanted, chosen) == before
