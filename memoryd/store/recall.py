"""Recall: `run_recall` runs a query's statements (recall_sql.py) and ranks the candidates.

The plan (terms, weights, MATCH expression) and the ranking are `memory_core.recall`'s, shared
with the hub; the statements are recall_sql.py's: the lexical leg, fused here with the semantic
leg's nearest rows when it is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import aiosqlite

from memory_core.clock import Clock
from memory_core.recall import fts, ranking
from memoryd.store import succession
from memoryd.store.db import Database
from memoryd.store.recall_sql import BM_POSITION, lexical_rows, recall_sql
from memoryd.store.records import Evidence, Recalled, RecallQuery
from memoryd.store.rows import POSITION, memory_from_row
from memoryd.store.word_counts import WordCounts

# The candidates' fields read for every candidate, by position (rows.POSITION says why): their
# rows are COLUMNS, then bm25 (recall_sql.BM_POSITION).
_ROWID = POSITION["rowid"]
_ID = POSITION["id"]
_CONTENT = POSITION["content"]
_TAGS = POSITION["tags"]
_KEYWORDS = POSITION["expanded_keywords"]
_IMPORTANCE = POSITION["importance"]
_PROJECT = POSITION["project"]
_UPDATED = POSITION["updated_ms"]
_BM = BM_POSITION


class InFlight:
    """How many recalls are running now (`run_recall`), kept by the store: a recall that
    starts while others run has its semantic product sent to a thread (DenseIndex.search's
    `alone`), so that the event loop serves the others meanwhile."""

    def __init__(self) -> None:
        self.count = 0

    @contextlib.contextmanager
    def one(self) -> Iterator[bool]:
        """Counts a recall while it runs; yields whether it started alone."""
        self.count += 1
        try:
            yield self.count == 1
        finally:
            self.count -= 1


async def run_recall(
    db: Database,
    clock: Clock,
    semantic: ranking.DenseIndex | None,
    query: RecallQuery,
    counts: WordCounts | None = None,
    in_flight: InFlight | None = None,
) -> list[Recalled]:
    """The query's best memories, best first, each with its score and its evidence: the
    lexical leg, fused with the semantic leg (`semantic`) when it is on and the order is by
    relevance; a superseded memory below its successor (`succession`). `counts`: the words'
    counts kept across recalls (None: counted for this one only); `in_flight`: the recalls
    running (None: this one alone)."""
    with (InFlight() if in_flight is None else in_flight).one() as alone:
        return await _recall(db, clock, semantic, query, counts, alone)


async def _recall(
    db: Database,
    clock: Clock,
    semantic: ranking.DenseIndex | None,
    query: RecallQuery,
    counts: WordCounts | None,
    alone: bool,
) -> list[Recalled]:
    plan = fts.plan(query.context, query.expanded_query)
    dense = semantic if query.sort_by == "relevance" else None
    if not plan.terms and dense is None:
        return []
    sql = recall_sql(query)
    nearest: asyncio.Task[ranking.DenseHits | None] | None = None
    product: Callable[[], ranking.DenseHits] | None = None
    hits: ranking.DenseHits | None = None
    if dense is not None:
        text = f"{query.context} {query.expanded_query}".strip()
        nearest_k = query.dense_candidates or ranking.DENSE_POOL
        if not alone and plan.terms:
            # Other recalls are in flight: the product runs on the reader's thread after the
            # lexical query, in the same hop, and the loop serves them meanwhile (alone, it
            # runs on the loop, overlapping the lexical query: no hop is cheaper).
            product = dense.product(text, nearest_k, query.static_query)
        if product is None:
            # Embedding the query (a thread) overlaps the lexical query (another thread).
            nearest = asyncio.create_task(dense.search(text, nearest_k, query.static_query))
    rows: list[sqlite3.Row] = []
    try:
        if plan.terms:
            # One hop to the reader's thread (reader.py). `counts` is then used from the
            # readers' threads: its dict operations are each atomic, and a count kept or
            # cleared meanwhile by another recall is one some order of recalls would see.
            async with db.reader() as conn:
                rows, hits = await conn.batch(
                    lambda c: _lexical_then(c, lexical_rows(c, plan, sql, counts), product)
                )
    except BaseException:
        if nearest is not None:
            nearest.cancel()
        raise
    wanted = [fts.stem(t) for t in plan.terms]
    forms = fts.surface_forms(wanted)
    best_bm = min((r[_BM] for r in rows), default=0.0)
    lexical: dict[int, float] = {}
    found: dict[int, dict[str, list[int]]] = {}  # the query words each row holds
    relevance = ranking.FoundRelevance(wanted, plan.weights)
    for row in rows:
        held = found[row[_ROWID]] = fts.positions_of(_text(row), forms)
        lexical[row[_ROWID]] = relevance(held, row[_BM], best_bm)
    # The query's embedding ran in its thread meanwhile (the lexical rescoring above is
    # Python on this one): wait for it only now.
    if nearest is not None:
        hits = await nearest
    lexical_ids = {row[_ROWID] for row in rows}
    missing = [r for r, _ in hits.top if r not in lexical_ids] if hits is not None else []
    if not rows and not missing:
        return []
    by_relevance = query.sort_by == "relevance"
    now_ms = clock.now_ms()
    # Each candidate's score, computed once: the neighbours' step ranks the candidates found
    # so far, the final ranking the same ones and those it added.
    scores: dict[int, float] = {}
    async with db.reader() as conn:

        async def widen(c: aiosqlite.Connection) -> dict[str, str]:
            """The other candidates, into `rows`: the dense leg's, the best ones' neighbours
            in time, the successors of superseded ones; returns the successors (`heads`)."""
            if missing:
                rows.extend(await c.execute_fetchall(*sql.rows(missing)))
            if by_relevance and hits is not None:  # the best ones' neighbours in time, with
                # their similarity (ranking.NEIGHBOUR_*; beyond the pool, words alone are none)
                best = _scored(rows, lexical, hits, now_ms, query, scores)[: query.limit]
                lenders = [row[_ROWID] for row, _ in best]
                if near := ranking.neighbour_rowids(lenders, [row[_ROWID] for row in rows]):
                    rows.extend(await c.execute_fetchall(*sql.rows(near)))
            heads = await succession.successors(c, [row[_ID] for row in rows])
            known = {row[_ID] for row in rows}
            absent = sorted({head for head in heads.values() if head not in known})
            if absent:
                rows.extend(await c.execute_fetchall(*sql.rows_by_id(absent)))
            return heads

        heads = await conn.batch(widen)  # one hop to its thread (reader.py)
    scored = _scored(rows, lexical, hits, now_ms, query, scores)
    if by_relevance:
        scored = ranking.lend_to_neighbours(scored, query.limit)
    # Without successors, ranking is the order as it stands: only what is returned is placed.
    placed = scored if heads else scored[: query.limit]
    ranked = succession.rank([(row[_ID], score) for row, score in placed], heads, by_relevance)
    said = [fts.stem(t) for t, w in zip(plan.terms, plan.weights, strict=True) if w == 1.0]
    said_forms = {word: stemmed for word, stemmed in forms.items() if stemmed in said}
    return _results(ranked[: query.limit], rows, found, (said, said_forms), hits)


async def _lexical_then(
    conn: aiosqlite.Connection,
    lexical: Coroutine[Any, Any, list[sqlite3.Row]],
    product: Callable[[], ranking.DenseHits] | None,
) -> tuple[list[sqlite3.Row], ranking.DenseHits | None]:
    """The lexical leg's rows, then the dense leg's `product` if there is one, in one batch."""
    rows = await lexical
    return rows, product() if product is not None else None


def _results(
    ranked: list[succession.Ranked],
    rows: list[sqlite3.Row],
    found: dict[int, dict[str, list[int]]],
    said: tuple[list[str], dict[str, str]],
    hits: ranking.DenseHits | None,
) -> list[Recalled]:
    """The memories returned, with their evidence (a successor's joined with that of what it
    stands for). Built only for what is returned: for every candidate, that doubled the cost
    of a prompt hook's recall at 10k memories. `said`: the stems of the query's own words and
    their `fts.surface_forms`."""
    by_id = {row[_ID]: row for row in rows}

    def evidence_of(memory_id: str) -> Evidence:
        row = by_id[memory_id]
        held = found.get(row[_ROWID])
        if held is None:  # not a lexical candidate (a nearest neighbour, a successor)
            held = fts.positions_of(_text(row), said[1])
        return _evidence(row, said[0], held, hits)

    out = []
    for r in ranked:
        if r.score <= 0:
            continue
        evidence = evidence_of(r.id)
        for older in r.stands_for:
            evidence = evidence.joined(evidence_of(older))
        if r.superseded_by is not None:
            evidence = dataclasses.replace(evidence, superseded_by=r.superseded_by)
        out.append(Recalled(memory_from_row(by_id[r.id]), r.score, evidence))
    return out


def _text(row: sqlite3.Row) -> str:
    return " ".join((row[_CONTENT] or "", row[_KEYWORDS], row[_TAGS]))


def _evidence(
    row: sqlite3.Row,
    said: list[str],
    held: dict[str, list[int]],
    hits: ranking.DenseHits | None,
) -> Evidence:
    """What `row` has in common with the query: of the stemmed words of its `context`
    (`said`), those it holds (`held`, fts.positions), and its similarity."""
    matched = sum(1 for t in said if t in held)
    cosine = hits.cosine(row[_ROWID]) if hits is not None else None
    return Evidence(
        covered=matched / len(said) if said else 0.0,
        matched=matched,
        cosine=cosine,
        standout=(
            ranking.standout(cosine, hits.spread)
            if hits is not None and cosine is not None
            else None
        ),
    )


def _scored(
    rows: list[sqlite3.Row],
    lexical: dict[int, float],
    hits: ranking.DenseHits | None,
    now_ms: int,
    query: RecallQuery,
    known: dict[int, float] | None = None,
) -> list[tuple[sqlite3.Row, float]]:
    """The rows with their scores, in the query's order; `known`: scores already computed for
    this query (by rowid), reused, and where the new ones are kept."""
    best_lexical = max(lexical.values(), default=0.0)
    weight = ranking.SEMANTIC_WEIGHT
    if hits is not None and hits.top:
        weight = ranking.dense_weight(ranking.standout(hits.best, hits.spread))
    best_cosine = hits.best if hits is not None else 0.0
    known = {} if known is None else known
    scored = []
    for row in rows:
        rowid = row[_ROWID]
        score = known.get(rowid)
        if score is None:
            relevance = lexical.get(rowid, 0.0)
            if hits is not None:
                # Every candidate's own cosine, not only the nearest's: a lexical match just
                # outside the dense top-k is not scored as if it were unrelated.
                relevance = ranking.fuse(
                    relevance, best_lexical, hits.cosine(rowid), best_cosine, weight
                )
            score = known[rowid] = ranking.score_of(
                relevance,
                row[_IMPORTANCE],
                ranking.age_days(now_ms, row[_UPDATED]),
                row[_PROJECT],
                query.project,
            )
        scored.append((row, score))
    ranking.order(scored, query.sort_by)
    return scored
