"""Scores recall candidates. Pure: the store fetches, this decides the order.

The lexical score (BM25 with column weights, computed by SQLite) is normalised to the best
candidate, so its scale no longer depends on the corpus size (the original project's bug: an
additive blend of raw BM25 and importance let importance beat relevance on small stores). Then
bounded multipliers apply: term coverage, importance, recency and project.

Coverage weighs each query term by where it came from (context words count twice as much as
`expanded_query` words); weighting it by inverse document frequency as well was measured on the
LoCoMo dev conversations and did not help, and cost one more query. Query terms found next to
each other in a row (a phrase) add a small proximity bonus.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from memory_core.recall import fts


class DenseHits(Protocol):
    """One query's cosine similarities (memoryd.semantic.index.Hits)."""

    @property
    def top(self) -> list[tuple[int, float]]:
        """The nearest (rowid, cosine) pairs, best first."""
        ...

    @property
    def best(self) -> float: ...

    def cosine(self, rowid: int) -> float | None:
        """Any memory's similarity with the query (a cosine, after the index's projection),
        None if it has no vector (not embedded yet, or sensitive)."""
        ...

    @property
    def spread(self) -> tuple[float, float, int]:
        """The mean and standard deviation of the query's similarities with every indexed
        memory, and their number: what a cosine is calibrated against (`standout`)."""
        ...


class DenseIndex(Protocol):
    """The semantic leg as recall sees it (memoryd.semantic, when installed and on)."""

    async def search(self, text: str, k: int, static: bool = False) -> DenseHits | None:
        """The query's cosines with up to k nearest first; None when there is nothing to
        compare (an empty index or a blank query). `static`: embed the query with the static
        table if there is one (cheaper, a little less exact) rather than the model."""
        ...

    def product(self, text: str, k: int, static: bool) -> Callable[[], DenseHits] | None:
        """`search`, as a function that may run on any thread (numpy releases the GIL), for a
        query embedded at once (`static`) over an index searched by one product; None where
        `search` must be awaited (the model's embedding, the approximate index) or has
        nothing to compare. Recall runs it on its reader's thread while other recalls are in
        flight, so that the event loop serves them meanwhile."""
        ...

    def written(self) -> None:
        """A memory was just stored or edited: embed it now rather than at the next poll."""
        ...


# FTS5 column weights: content, expanded_keywords, tags.
BM25_WEIGHTS = (10.0, 4.0, 2.0)

POOL_MIN = 50  # lexical candidates scored per query, at least
POOL_FACTOR = 5  # ... and at least this many times the limit
COVERAGE_FLOOR = 0.45  # a row matching one of many terms keeps this share of its score
IMPORTANCE_SPAN = 0.3  # importance moves a score by at most +/-15%
RECENCY_SPAN = 0.1  # a year-old memory loses at most 10%
RECENCY_HALF_LIFE_DAYS = 180.0
SAME_PROJECT = 1.25
OTHER_PROJECT = 0.85


@dataclass(frozen=True)
class Candidate:
    relevance: float  # 0..1, 1 for the best match of the query (see `lexical`, `fuse`)
    importance: float
    age_days: float
    project: str | None


def coverage(present: Sequence[bool], weights: Sequence[float]) -> float:
    total = sum(weights)
    if total <= 0:
        return 1.0 if any(present) else 0.0
    return sum(w for w, hit in zip(weights, present, strict=True) if hit) / total


PROXIMITY_BONUS = 0.25  # query terms next to each other in a row raise its score by up to this


def lexical(bm25: float, best_bm25: float, covered: float, near: float = 0.0) -> float:
    """BM25 (SQLite's: lower, more negative, is better) relative to the best candidate, times
    the coverage and proximity factors."""
    relevance = bm25 / best_bm25 if best_bm25 < 0 else 1.0
    cover = COVERAGE_FLOOR + (1 - COVERAGE_FLOOR) * covered
    return relevance * cover * (1 + PROXIMITY_BONUS * near)


# The semantic leg: a convex mix of the lexical score and the dense similarity (the cosine
# after the index's projection, memoryd.semantic.index), each scaled to its best candidate,
# over the lexical pool plus the DENSE_POOL nearest memories; every candidate gets its own
# similarity. Similarities under COSINE_FLOOR count as nothing; dense pools of 20 and 50 score
# the same (bench/locomo.py --split dev, docs/benchmarks.md). A candidate without a vector is
# ranked on its lexical evidence alone.
#
# How much the similarity counts depends on how sure the dense leg is: the standout of its
# best match (`standout`: how far it lies above what the best of that many unrelated memories
# reaches by chance). When the nearest memory is no nearer than chance, the ranking leans on
# the words (DENSE_WEIGHT_LOW); the more it stands out, the more the similarity counts, up to
# DENSE_WEIGHT_HIGH at a standout of DENSE_CONFIDENT. Chosen on dev data only: on the LoCoMo
# dev conversations a plateau of the grid (low 0.2-0.35, rise 0.1-0.5, from standout -1 to
# 0.5, over 1-3) scores R@10 76-77 against 74.2 for the fixed weight of 0.4 (which scores 74-75
# anywhere in 0.3-0.5), both dev conversations up; on the coding benchmark's dev split a low
# end of 0.25 cost recall's top 10 two paraphrase needs, 0.3 one paraphrase for one implicit
# need (top 10 70.7 either way, top 5 64.0 -> 65.3; docs/benchmarks.md).
SEMANTIC_WEIGHT = 0.4  # the weight when the query's standout cannot be told (a tiny store)
DENSE_WEIGHT_LOW = 0.3
DENSE_WEIGHT_HIGH = 0.7
DENSE_CONFIDENT = 3.0
COSINE_FLOOR = 0.0
DENSE_POOL = 20


def dense_weight(best_standout: float | None) -> float:
    """The similarity's share of the fused relevance, given the standout of the query's
    nearest memory (None when the store is too small to tell)."""
    if best_standout is None:
        return SEMANTIC_WEIGHT
    sure = min(1.0, max(0.0, best_standout / DENSE_CONFIDENT))
    return DENSE_WEIGHT_LOW + (DENSE_WEIGHT_HIGH - DENSE_WEIGHT_LOW) * sure


def fuse(
    lexical_score: float,
    best_lexical: float,
    cosine: float | None,
    best_cosine: float,
    weight: float = SEMANTIC_WEIGHT,
) -> float:
    """The fused relevance of one candidate; `cosine` None when it has no vector; `weight`
    the similarity's share (`dense_weight`)."""
    lex = lexical_score / best_lexical if best_lexical > 0 else 0.0
    if cosine is None:
        # Not embedded yet (just stored, imported, pulled from the hub) or never (sensitive):
        # its words are all the evidence there is, so they count in full. Counting its
        # similarity as 0 instead let every embedded candidate outrank it, and made recall
        # worse than lexical alone while a store was being indexed (LoCoMo test R@10 60.3
        # right after loading, against 66.0 lexical; docs/benchmarks.md).
        return lex
    span = best_cosine - COSINE_FLOOR
    dense = max(0.0, cosine - COSINE_FLOOR) / span if span > 0 else 0.0
    return (1 - weight) * lex + weight * dense


def standout(cosine: float, spread: tuple[float, float, int]) -> float | None:
    """How far a similarity stands out from the query's similarities with the whole store: its
    standard score, less the score that the best of that many unrelated memories reaches by
    chance (sqrt(2 ln n), the expected maximum of n normal samples). Unlike a raw cosine, it
    means the same whatever the model's scale, the query, or the store's size; None when the
    store is too small to tell."""
    mean, deviation, count = spread
    if count < 2 or deviation <= 0:
        return None
    return (cosine - mean) / deviation - math.sqrt(2 * math.log(count))


# Neighbours in time. Memories stored one after another within a short while (a conversation's
# turns, the notes of one working session) share a context that each alone does not spell
# out: the question a turn answers is in the turn before it. So each of the query's best
# candidates (as many as it asks for) lends NEIGHBOUR_SHARE of its score to the memories
# stored within NEIGHBOUR_SPAN rows of it (by rowid: the order this store received them) and
# within NEIGHBOUR_WINDOW_MS of its creation, if they have evidence of their own (words or a
# similarity); a memory next to two takes the larger loan. Chosen on dev data only
# (docs/benchmarks.md): on the LoCoMo dev conversations, in process, shares 0.2-0.5 over
# spans 1-2 score R@10 77.9-80.8 against 76.9 without; on the coding benchmark's dev split
# span 2 or a share of 0.5 cost recall's top 5 or paraphrase needs, 0.3 over span 1 costs
# nothing and brings two more implicit and one more paraphrase need into the top 10.
NEIGHBOUR_SHARE = 0.3
NEIGHBOUR_SPAN = 1
NEIGHBOUR_WINDOW_MS = 3_600_000


def neighbour_rowids(lenders: Iterable[int], known: Iterable[int]) -> list[int]:
    """The rowids within NEIGHBOUR_SPAN of any of `lenders` that are not `known` already:
    the rows recall reads to lend to (`lend_to_neighbours`)."""
    near = {r + d for r in lenders for d in range(-NEIGHBOUR_SPAN, NEIGHBOUR_SPAN + 1) if d}
    return sorted(near - set(known))


def lend_to_neighbours(scored: list[tuple[Any, float]], lenders: int) -> list[tuple[Any, float]]:
    """`scored` (rows with `rowid` and `created_ms`, and their scores, best first) with the
    best `lenders` lending to their neighbours in time (NEIGHBOUR_SHARE), best first again."""
    by_rowid = {row["rowid"]: row for row, _ in scored}
    loans: dict[int, float] = {}
    for row, lent in scored[:lenders]:
        for offset in range(-NEIGHBOUR_SPAN, NEIGHBOUR_SPAN + 1):
            other = by_rowid.get(row["rowid"] + offset)
            if offset == 0 or other is None:
                continue
            if abs(other["created_ms"] - row["created_ms"]) <= NEIGHBOUR_WINDOW_MS:
                loans[other["rowid"]] = max(loans.get(other["rowid"], 0.0), lent)
    # Only to a memory with evidence of its own (words or a similarity): a neighbour alone
    # never makes a memory a recall result.
    out = [
        (row, s + NEIGHBOUR_SHARE * loans.get(row["rowid"], 0.0) if s > 0 else s)
        for row, s in scored
    ]
    out.sort(key=lambda pair: pair[1], reverse=True)
    return out


def score(candidate: Candidate, project: str | None) -> float:
    return score_of(
        candidate.relevance, candidate.importance, candidate.age_days, candidate.project, project
    )


def score_of(
    relevance: float,
    importance: float,
    age_days: float,
    own_project: str | None,
    project: str | None,
) -> float:
    """`score` of a candidate given by its fields: what a store calls for each of a recall's
    ~60 candidates, without building a Candidate for each (a frozen dataclass's __init__ is
    ~1 us, a third of what scoring a candidate costs)."""
    weight = 1 + IMPORTANCE_SPAN * (importance - 0.5)
    recency = 1 - RECENCY_SPAN * (1 - math.exp(-age_days / RECENCY_HALF_LIFE_DAYS))
    if project is None or own_project is None:
        scope = 1.0
    elif own_project == project:
        scope = SAME_PROJECT
    else:
        scope = OTHER_PROJECT
    return relevance * weight * recency * scope


def text_relevance(
    text: str, bm25: float, best_bm25: float, wanted: Sequence[str], weights: Sequence[float]
) -> float:
    """`lexical` for one candidate's text: which stemmed query words it holds, and how many
    consecutive query words stand near each other in it."""
    return text_match(text, bm25, best_bm25, wanted, weights)[0]


def text_match(
    text: str, bm25: float, best_bm25: float, wanted: Sequence[str], weights: Sequence[float]
) -> tuple[float, dict[str, list[int]]]:
    """`text_relevance`, and the positions of the stemmed query words the text holds
    (`fts.positions`): the daemon keeps them as evidence for the prompt hook."""
    found = fts.positions(text, set(wanted))
    return found_relevance(found, bm25, best_bm25, wanted, weights), found


def found_relevance(
    found: Mapping[str, list[int]],
    bm25: float,
    best_bm25: float,
    wanted: Sequence[str],
    weights: Sequence[float],
) -> float:
    """`text_relevance` from the positions of the stemmed query words the text holds
    (`fts.positions`, or `fts.positions_of`)."""
    return FoundRelevance(wanted, weights)(found, bm25, best_bm25)


class FoundRelevance:
    """`found_relevance` for one query's stemmed words (`wanted`) and their weights, with what
    depends on them alone (the weights' total, the pairs `fts.adjacent_pairs` looks for)
    worked out once for all its candidates (the daemon rescores ~60 a prompt): the same
    arithmetic in the same order, so the same scores to the last bit."""

    def __init__(self, wanted: Sequence[str], weights: Sequence[float]) -> None:
        self._wanted = list(wanted)
        self._weighted = list(zip(weights, self._wanted, strict=True))
        self._total = sum(weights)
        self._pairs = fts.query_pairs(self._wanted)

    def __call__(self, found: Mapping[str, list[int]], bm25: float, best_bm25: float) -> float:
        if self._total > 0:  # `coverage`
            covered = sum(w for w, term in self._weighted if term in found) / self._total
        else:
            covered = 1.0 if any(term in found for term in self._wanted) else 0.0
        return lexical(bm25, best_bm25, covered, fts.pairs_near(self._pairs, found))


def age_days(now_ms: int, updated_ms: int) -> float:
    return max(0, now_ms - updated_ms) / 86_400_000


def order(
    scored: list[tuple[Any, float]], sort_by: Literal["relevance", "importance", "recency"]
) -> None:
    """Sort (row, score) pairs in place for the requested order; rows are mappings with
    `importance` and `updated_ms`, as both the daemon's and the hub's stores give them."""
    if sort_by == "importance":
        scored.sort(key=lambda pair: (pair[0]["importance"], pair[1]), reverse=True)
    elif sort_by == "recency":
        scored.sort(key=lambda pair: pair[0]["updated_ms"], reverse=True)
    else:
        scored.sort(key=lambda pair: pair[1], reverse=True)
