"""The dense leg's per-query shortcuts give, bit for bit, what the plain numpy they replace
gave: a prompt hook's answer (its cosines, standouts and order) must not move by a last bit
because a query got cheaper (docs/benchmarks.md, "densecut")."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from memoryd.semantic.index import Hits, Projection, Snapshot, length, score_spread

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def random_scores(seed: int, count: int) -> np.ndarray:
    """Similarities as a search gives them: float32, around a small mean, some tied."""
    rng = np.random.default_rng(seed)
    scale, centre = rng.uniform(1e-4, 2.0), rng.uniform(-1.0, 1.0)
    scores = (rng.standard_normal(count) * scale + centre).astype(np.float32)
    if count > 4:
        scores[rng.integers(0, count, count // 4)] = scores[0]  # duplicates tie exactly
    return scores


@settings(max_examples=200, deadline=None)
@given(seed=seeds, count=st.integers(min_value=1, max_value=5000))
def test_the_spread_is_numpys_mean_and_std(seed: int, count: int) -> None:
    scores = random_scores(seed, count)
    assert score_spread(scores) == (float(scores.mean()), float(scores.std()), count)


@settings(max_examples=200, deadline=None)
@given(seed=seeds, dims=st.integers(min_value=1, max_value=512))
def test_length_is_numpys_norm(seed: int, dims: int) -> None:
    vector = np.random.default_rng(seed).standard_normal(dims).astype(np.float32)
    assert length(vector) == float(np.linalg.norm(vector))
    assert length(vector.astype(np.float64)) == float(np.linalg.norm(vector.astype(np.float64)))


def reference_search(snapshot: Snapshot, query: np.ndarray, k: int) -> Hits:
    """Snapshot.search as it was written before the shortcuts."""
    if snapshot.projection is None:
        scores = snapshot.matrix @ query
    else:
        searched, offset = snapshot.projection.query(query)
        scores = snapshot.matrix @ searched - np.float32(offset)
    k = min(k, len(scores))
    if k <= 0:
        return Hits([], scores, snapshot.slot)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top])]
    return Hits([(int(snapshot.rowids[i]), float(scores[i])) for i in top], scores, snapshot.slot)


def reference_query(projection: Projection, query: np.ndarray) -> tuple[np.ndarray, float]:
    """Projection.query as it was written before the shortcuts."""
    centred = query - projection.mean
    kept = centred - projection.components.T @ (projection.components @ centred)
    norm = float(np.linalg.norm(kept))
    if norm < 1e-6:
        return query, 0.0
    searched = (kept / norm).astype(np.float32)
    return searched, float(projection.mean @ searched)


@settings(max_examples=60, deadline=None)
@given(
    seed=seeds,
    rows=st.integers(min_value=1, max_value=600),
    k=st.integers(min_value=0, max_value=80),
    projected=st.booleans(),
)
def test_search_gives_what_it_gave(seed: int, rows: int, k: int, projected: bool) -> None:
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((rows, 32)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix[rng.integers(0, rows, rows // 5)] = matrix[0]  # duplicate memories tie exactly
    rowids = rng.permutation(10 * rows)[:rows].astype(np.int64) + 1
    slot = {int(r): i for i, r in enumerate(rowids)}
    projection = Projection.fit(matrix, rows=max(rows, 100)) if projected else None
    snapshot = Snapshot(matrix, rowids, slot, projection)
    query = matrix[rng.integers(0, rows)] + rng.standard_normal(32).astype(np.float32) * 0.3
    query = (query / np.linalg.norm(query)).astype(np.float32)
    if projection is not None:
        searched, offset = projection.query(query)
        expected_query = reference_query(projection, query)
        assert np.array_equal(searched, expected_query[0]) and offset == expected_query[1]
    hits, expected = snapshot.search(query, k), reference_search(snapshot, query, k)
    assert hits.top == expected.top
    assert all(type(r) is int and type(s) is float for r, s in hits.top)
    assert np.array_equal(hits.scores, expected.scores)
    assert hits.spread == (float(expected.scores.mean()), float(expected.scores.std()), rows)
    for rowid in [*slot, 0, -1]:
        cosine = hits.cosine(rowid)
        assert cosine == (float(expected.scores[slot[rowid]]) if rowid in slot else None)
        assert cosine is None or type(cosine) is float
