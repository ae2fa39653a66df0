"""Neighbours in time: the best candidates lend a share of their score to the memories stored
next to them (ranking.lend_to_neighbours), on a real store and as the pure rule."""

from __future__ import annotations

from memory_core.recall import ranking
from memoryd.store.memories import MemoryStore, NewMemory, RecallQuery
from tests.conftest import FakeClock

HOUR_MS = 3_600_000


async def test_the_turn_after_a_strong_match_outranks_an_equal_match_from_elsewhere(
    store: MemoryStore, clock: FakeClock
) -> None:
    await store.create(NewMemory(content="Melanie: my old job was boring"))
    clock.advance(3 * HOUR_MS)
    await store.create(NewMemory(content="Caroline: which city should I move to for the new job?"))
    clock.advance(1000)
    answer = "Melanie: Lisbon, I hear the job market there is good and the food is great"
    await store.create(NewMemory(content=answer))
    clock.advance(3 * HOUR_MS)
    await store.create(NewMemory(content="Melanie: my next job will be better"))
    found = [m.content for m, _ in await store.recall(RecallQuery(context="new job city"))]
    # The answer holds one query word, as the two other turns do, and is the longest of the
    # three (BM25 ranks it last of them); it is stored a second after the question.
    assert found[:2] == ["Caroline: which city should I move to for the new job?", answer]


def _row(rowid: int, created_ms: int) -> dict[str, int]:
    return {"rowid": rowid, "created_ms": created_ms}


def test_only_the_best_lend_and_only_to_memories_with_evidence_stored_close_in_time() -> None:
    lender, other_lender = _row(10, 0), _row(20, 0)
    near, far_in_time, without_evidence = _row(11, 1000), _row(21, 5 * HOUR_MS), _row(9, 0)
    not_lent_to = _row(31, 0)  # next to a candidate that is not among the best two
    scored = [
        (lender, 1.0),
        (other_lender, 0.8),
        (_row(30, 0), 0.5),
        (far_in_time, 0.45),
        (not_lent_to, 0.44),
        (near, 0.4),
        (without_evidence, 0.0),
    ]
    out = dict((row["rowid"], score) for row, score in ranking.lend_to_neighbours(scored, 2))
    assert out[11] == 0.4 + ranking.NEIGHBOUR_SHARE * 1.0
    assert out[21] == 0.45 and out[31] == 0.44 and out[9] == 0.0
    assert out[20] == 0.8  # far from the lender at 10 in rowid
    ranked = [row["rowid"] for row, _ in ranking.lend_to_neighbours(scored, 2)]
    assert ranked[:3] == [10, 20, 11]


def test_neighbour_rowids_are_the_unknown_ones_within_the_span() -> None:
    assert ranking.neighbour_rowids([5, 6], known=[5, 6, 7]) == [4]
