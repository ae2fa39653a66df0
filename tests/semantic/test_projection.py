"""The semantic index's projection: similarities taken after removing what a store's memories
all share (their mean and top principal directions), fitted off the event loop."""

from __future__ import annotations

import numpy as np
import pytest

from memoryd.semantic.embedder import Embedder
from memoryd.semantic.index import MIN_FIT, REFIT_GROWTH, Projection, VectorIndex
from memoryd.semantic.leg import SemanticLeg
from memoryd.store.memories import MemoryStore, NewMemory

DIMS = 64


def unit(v: np.ndarray) -> np.ndarray:
    out: np.ndarray = (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)
    return out


def two_speaker_store(rows: int = 200) -> tuple[np.ndarray, np.ndarray, int]:
    """Memories = a direction they all share + one of two "speaker" directions + their own
    topic. The query shares the speaker of half the store and the topic of one memory of the
    other half: by raw cosine the speaker wins, and that memory is not even near the top."""
    rng = np.random.default_rng(8)
    common, speaker_a, speaker_b = unit(rng.normal(size=(3, DIMS)))
    topics = unit(rng.normal(size=(rows, DIMS)))
    speakers = np.where((np.arange(rows) % 2 == 0)[:, None], speaker_a, speaker_b)
    matrix = unit(2.0 * common + 1.2 * speakers + topics)
    target = 101  # odd: speaker b
    query = unit(2.0 * common + 1.2 * speaker_a + topics[target])
    return matrix, query, target


def test_the_topic_outranks_what_every_memory_shares() -> None:
    matrix, query, target = two_speaker_store()
    index = VectorIndex(DIMS)
    index.put(list(range(len(matrix))), matrix)
    raw = index.search(query, 10)
    assert target not in [r for r, _ in raw.top]

    index.projection = Projection.fit(index.snapshot().matrix)
    projected = index.search(query, 10)
    assert projected.top[0][0] == target
    assert projected.best == projected.cosine(target)


def test_search_scores_are_the_projected_rows_against_the_projected_query() -> None:
    """Only the query is transformed; the offset must make each score exactly the product of
    the row's projection (x - mean, top directions removed) with that query."""
    matrix, query, _ = two_speaker_store()
    projection = Projection.fit(matrix)
    assert projection is not None and projection.rows == len(matrix)
    components = projection.components
    assert np.allclose(components @ components.T, np.eye(len(components)), atol=1e-5)
    searched, _ = projection.query(query)
    centred = matrix - projection.mean
    kept = centred - (centred @ components.T) @ components
    index = VectorIndex(DIMS)
    index.put(list(range(len(matrix))), matrix)
    index.projection = projection
    hits = index.search(query, 5)
    expected = kept @ searched
    assert [hits.cosine(r) for r in range(len(matrix))] == pytest.approx(expected, abs=1e-5)
    assert float(np.linalg.norm(searched)) == pytest.approx(1.0)


def test_small_stores_keep_raw_cosines_and_growth_asks_for_a_refit() -> None:
    matrix, _, _ = two_speaker_store(rows=400)
    assert Projection.fit(matrix[: MIN_FIT - 1]) is None
    index = VectorIndex(DIMS)
    index.put(list(range(MIN_FIT - 1)), matrix[: MIN_FIT - 1])
    assert not index.stale()  # too small to fit: raw cosines are what it should use
    index.put([MIN_FIT - 1], matrix[MIN_FIT - 1 : MIN_FIT])
    assert index.stale()
    index.projection = Projection.fit(index.snapshot().matrix)
    assert not index.stale()
    grown = int(MIN_FIT * (1 + REFIT_GROWTH)) + 1
    index.put(list(range(MIN_FIT, grown)), matrix[MIN_FIT:grown])
    assert index.stale()
    index.clear()
    assert index.projection is None and not index.stale()


async def test_the_leg_fits_the_projection_once_the_store_is_big_enough(
    store: MemoryStore,
) -> None:
    leg = SemanticLeg(store.db, Embedder(threads=2))
    first = [
        f"note {i}: the build of service number {i} passed on runner {i % 7}"
        for i in range(MIN_FIT - 1)
    ]
    await store.import_many([NewMemory(content=t) for t in first])
    assert await leg.sync_once() == MIN_FIT - 1
    assert leg.index.projection is None and (await leg.status())["projection_current"]

    more = [f"lunch order {i}: soup and bread for table {i}" for i in range(20)]
    await store.import_many([NewMemory(content=t) for t in more])
    assert await leg.sync_once() == 20
    fitted = leg.index.projection
    assert fitted is not None and fitted.rows == MIN_FIT + 19
    assert (await leg.status())["projection_current"]

    # A daemon restart loads the vectors and fits the same projection again.
    again = SemanticLeg(store.db, leg.embedder)
    await again.load()
    assert again.index.projection is not None
    assert np.allclose(again.index.projection.mean, fitted.mean, atol=1e-6)
