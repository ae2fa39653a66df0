"""Within the budget, recall counts each query word's rows only up to `fts.selective_cap`
(memoryd/store/recall_sql.py `narrow`): `fts.selective` must then choose exactly the words it
chooses on the exact counts, whatever the counts, the store's size and the constants."""

from __future__ import annotations

import math
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memory_core.recall import fts
from memoryd.store import word_counts
from memoryd.store.memories import MemoryStore, NewMemory
from memoryd.store.recall_sql import narrow


def _capped(counts: list[int], indexed: int) -> list[int]:
    """What `count_words` returns with a LIMIT of the cap: each count cut down to it."""
    cap = fts.selective_cap(indexed)
    return [min(count, cap) for count in counts]


@st.composite
def _cases(draw: st.DrawFn) -> tuple[list[int], int, int, int, float]:
    """(counts, indexed, enough, SELECTIVE_FROM, COMMON_SHARE), the counts drawn around the
    bounds `selective` compares them with, where a wrong cap would show."""
    indexed = draw(st.integers(0, fts.RANKED_BUDGET))
    selective_from = draw(st.sampled_from([fts.SELECTIVE_FROM, 0, 1, 20, 700, 9_999]))
    share = draw(st.sampled_from([fts.COMMON_SHARE, 0.0, 0.01, 0.15, 0.5, 1.0]))
    bounds = [selective_from, math.floor(share * indexed)]
    near = st.builds(
        lambda bound, step: max(0, bound + step),
        st.sampled_from(bounds),
        st.integers(-3, 3),
    )
    count = st.one_of(near, st.integers(0, 30), st.integers(0, 2 * fts.RANKED_BUDGET))
    counts = draw(st.lists(count, min_size=1, max_size=fts.MAX_TERMS))
    enough = draw(st.one_of(st.integers(0, 60), st.integers(0, 3 * fts.RANKED_BUDGET)))
    return counts, indexed, enough, selective_from, share


@settings(max_examples=1_000, deadline=None)
@given(_cases())
def test_selective_chooses_the_same_words_on_capped_counts(
    case: tuple[list[int], int, int, int, float],
) -> None:
    counts, indexed, enough, selective_from, share = case
    terms = [f"w{n}" for n in range(len(counts))]
    with (
        mock.patch.object(fts, "SELECTIVE_FROM", selective_from),
        mock.patch.object(fts, "COMMON_SHARE", share),
    ):
        exact = fts.selective(terms, counts, indexed, enough)
        assert fts.selective(terms, _capped(counts, indexed), indexed, enough) == exact


@pytest.mark.parametrize("indexed", [0, 1, 99, 100, 7_000, 9_999, fts.RANKED_BUDGET])
def test_the_cap_is_one_past_both_bounds(indexed: int) -> None:
    cap = fts.selective_cap(indexed)
    assert cap > fts.SELECTIVE_FROM and cap > fts.COMMON_SHARE * indexed
    assert cap - 1 == fts.SELECTIVE_FROM or cap - 1 <= fts.COMMON_SHARE * indexed


async def test_narrow_decides_on_capped_counts_as_on_full_ones(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word in most rows, counted only up to the cap, is still left out of the candidates'
    words, and the rare ones' counts still fill the pool."""
    monkeypatch.setattr(fts, "SELECTIVE_FROM", 20)
    rows = [NewMemory(f"common filler row {n}") for n in range(150)]
    rows += [NewMemory(f"common rare note {n}") for n in range(8)]
    rows += [NewMemory(f"scarce entry {n}") for n in range(4)]
    await store.import_many(rows)
    plan = fts.plan("common rare scarce")
    async with store.db.reader() as conn:
        indexed = await word_counts.indexed_rows(conn)
        full = await word_counts.count_words(conn, plan.terms, None)
        capped = await word_counts.count_words(conn, plan.terms, fts.selective_cap(indexed))
        narrowed = await narrow(conn, plan, 10)
    assert full == [158, 8, 4] and capped == [fts.selective_cap(indexed), 8, 4]
    rare = fts.selective(plan.terms, full, indexed, 10)
    assert rare == ["rare", "scarce"]
    assert narrowed.match == f"({fts.match_any(rare)}) AND ({plan.match()})"
