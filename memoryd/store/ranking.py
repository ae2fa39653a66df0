"""Scores recall candidates. Pure: the store fetches, this decides the order.

The lexical score (BM25 with column weights, computed by SQLite) is normalised to the best
candidate, so its scale no longer depends on the corpus size (the original project's bug: an
additive blend of raw BM25 and importance let importance beat relevance on small stores). Then
bounded multipliers apply: term coverage, importance, recency and project.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# FTS5 column weights: content, expanded_keywords, tags.
BM25_WEIGHTS = (10.0, 4.0, 2.0)

COVERAGE_FLOOR = 0.45  # a row matching one of many terms keeps this share of its score
IMPORTANCE_SPAN = 0.3  # importance moves a score by at most +/-15%
RECENCY_SPAN = 0.1  # a year-old memory loses at most 10%
RECENCY_HALF_LIFE_DAYS = 180.0
SAME_PROJECT = 1.25
OTHER_PROJECT = 0.85


@dataclass(frozen=True)
class Candidate:
    bm25: float  # SQLite's bm25(): lower (more negative) is better
    coverage: float  # share of the query's terms the row contains, 0..1
    importance: float
    age_days: float
    project: str | None


def score(candidate: Candidate, best_bm25: float, project: str | None) -> float:
    relevance = candidate.bm25 / best_bm25 if best_bm25 < 0 else 1.0
    coverage = COVERAGE_FLOOR + (1 - COVERAGE_FLOOR) * candidate.coverage
    importance = 1 + IMPORTANCE_SPAN * (candidate.importance - 0.5)
    recency = 1 - RECENCY_SPAN * (1 - math.exp(-candidate.age_days / RECENCY_HALF_LIFE_DAYS))
    if project is None or candidate.project is None:
        scope = 1.0
    elif candidate.project == project:
        scope = SAME_PROJECT
    else:
        scope = OTHER_PROJECT
    return relevance * coverage * importance * recency * scope
