"""Recall: `recall_sql` builds a query's statements (pure), `run_recall` runs them and ranks.

The plan (terms, weights, MATCH expression) and the ranking are `memory_core.recall`'s, shared
with the hub; what is the daemon's own is the SQLite side: FTS5's bm25 inside the index, the
join to the rows, and the semantic leg's nearest rows when it is on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from memory_core.clock import Clock
from memory_core.model import normalize_category
from memory_core.recall import fts, ranking
from memoryd.store import succession, word_counts
from memoryd.store.db import Database
from memoryd.store.records import Evidence, Recalled, RecallQuery
from memoryd.store.rows import COLUMNS, memory_from_row
from memoryd.store.word_counts import WordCounts

# Sensitive rows are few: when they are left out, fetch this many more and drop them after
# the join.
_SENSITIVE_MARGIN = 20
_JOINED_COLUMNS = ", ".join("m." + c.strip() for c in COLUMNS.split(","))
_WEIGHTS = ", ".join(str(w) for w in ranking.BM25_WEIGHTS)


@dataclass(frozen=True)
class RecallSql:
    """One recall's statements, built from the query alone. The runner binds what only the
    database knows: the MATCH expression (narrowed by `_match`) and the dense leg's rows."""

    pool: int  # how many candidates are ranked
    search: str  # the lexical leg; parameters: `search_params(match)`
    search_args: tuple[Any, ...]
    # What every candidate must satisfy, on `memories m`: checked on rows found by the FTS
    # index, by rowid or by id, never used to find them (`+`: not by an index).
    filters: str
    filter_args: tuple[Any, ...]
    inner: str = ""  # the same inside the FTS table (the category)
    inner_args: tuple[Any, ...] = ()
    fetch: int = 0  # rows ranked inside the FTS table and joined

    def search_params(self, match: str) -> tuple[Any, ...]:
        return (match, *self.search_args)

    def lexical(self, narrowed: Narrowed) -> tuple[str, tuple[Any, ...]]:
        """The lexical leg's statement for `narrowed` (`_match`): `search`, unless common words
        were left out of the MATCH; then each candidate's bm25 over the words matched, plus the
        share of each left-out word it holds (`fts.presence_share`), found by one MATCH of the
        candidates' words AND that word. FTS5 steps such a MATCH by seeking in the common
        word's document list, where bm25() would read the whole list for the word's IDF (a
        fixed ~20 ms a recall at a million memories)."""
        if not narrowed.others:
            return self.search, self.search_params(narrowed.match)
        newest, newest_args, bound, base = "", (), "", f"bm25(memories_fts, {_WEIGHTS})"
        if narrowed.bounded:  # the newest RANKED_BUDGET candidates only, as `search` ranks
            # Used by every branch: SQLite 3.35+ computes such a CTE once (no MATERIALIZED
            # hint, which older SQLite would refuse; there it runs once a branch).
            newest = (
                "WITH newest(low) AS (SELECT min(rowid) FROM (SELECT rowid "
                f"FROM memories_fts WHERE memories_fts MATCH ? {self.inner} "
                f"ORDER BY rowid DESC LIMIT {fts.RANKED_BUDGET})) "
            )
            newest_args = (narrowed.match, *self.inner_args)
            bound = "AND rowid >= (SELECT low FROM newest)"
            # bm25() for each of 10,000 rows was most of such a recall (11 of 15 ms at a
            # million): the words matched count by their shares too (in `others`).
            base = "0.0"
        branches = [
            f"SELECT rowid, {base} AS s FROM memories_fts "
            f"WHERE memories_fts MATCH ? {bound} {self.inner}"
        ]
        args: list[Any] = [*newest_args, narrowed.match, *self.inner_args]
        for match, share in narrowed.others:
            branches.append(
                f"SELECT rowid, ? FROM memories_fts WHERE memories_fts MATCH ? {bound} {self.inner}"
            )
            args += [-share, match, *self.inner_args]  # bm25() is negated: lower is better
        sql = (
            f"{newest}SELECT {_JOINED_COLUMNS}, t.bm FROM ("
            f"SELECT rowid, sum(s) AS bm FROM ({' UNION ALL '.join(branches)}) "
            "GROUP BY rowid ORDER BY bm, rowid DESC LIMIT ?"
            ") t JOIN memories m ON m.rowid = t.rowid "
            f"WHERE {self.filters} ORDER BY t.bm LIMIT ?"
        )
        return sql, (*args, self.fetch, *self.filter_args, self.pool)

    def rows(self, rowids: Sequence[int]) -> tuple[str, tuple[Any, ...]]:
        """The statement reading the dense leg's hits (by rowid) that passed the filters."""
        marks = ", ".join("?" * len(rowids))
        sql = (
            f"SELECT {_JOINED_COLUMNS}, 0.0 AS bm FROM memories m "
            f"WHERE m.rowid IN ({marks}) AND {self.filters}"
        )
        return sql, (*rowids, *self.filter_args)

    def rows_by_id(self, ids: Sequence[str]) -> tuple[str, tuple[Any, ...]]:
        """The statement reading candidates named by id (the successors of superseded
        candidates) that pass the filters."""
        marks = ", ".join("?" * len(ids))
        sql = (
            f"SELECT {_JOINED_COLUMNS}, 0.0 AS bm FROM memories m "
            f"WHERE m.id IN ({marks}) AND {self.filters}"
        )
        return sql, (*ids, *self.filter_args)


def recall_sql(query: RecallQuery) -> RecallSql:
    # Unary `+` keeps SQLite from reading the candidates through the live-rows or category
    # index: without statistics it did so for 5 ids or 20 rowids and more, reading every live
    # memory (1.7 s for one prompt hook's superseded candidates' successors at a million).
    filters, filter_args = ["+m.deleted_ms IS NULL"], []
    inner, inner_args = "", []
    if query.category:
        category = normalize_category(query.category)
        filters.append("+m.category = ?")
        filter_args.append(category)
        # Each matching row's category, looked up by rowid: `rowid IN (the category's rows)`
        # made SQLite hand FTS5 the category's rowids one by one, each a search of the MATCH
        # (12.8 s of CPU a recall for a category of 391,755 rows at a million memories).
        inner = "AND (SELECT category FROM memories WHERE rowid = memories_fts.rowid) = ?"
        inner_args.append(category)
    if not query.include_sensitive:
        filters.append("m.is_sensitive = 0")
    pool = max(query.limit * ranking.POOL_FACTOR, ranking.POOL_MIN)
    fetch = pool if query.include_sensitive else pool + _SENSITIVE_MARGIN
    where = " AND ".join(filters)
    # Rank inside the FTS table first, then join only the top rows: joining every match
    # before the sort costs most of the time on frequent words (1.5-3x). FTS5 computes bm25
    # for every row it is stepped to, so it is stepped newest first and stops after
    # fts.RANKED_BUDGET rows: that bounds a recall's work where narrowing the MATCH to the
    # rarest words (fts.selective) cannot, when even the rarest is in more rows, or when the
    # query is one common word.
    search = (
        f"SELECT {_JOINED_COLUMNS}, t.bm FROM ("
        "SELECT rowid, bm FROM ("
        f"SELECT rowid, bm25(memories_fts, {_WEIGHTS}) AS bm FROM memories_fts "
        f"WHERE memories_fts MATCH ? {inner} ORDER BY rowid DESC LIMIT {fts.RANKED_BUDGET}"
        ") ORDER BY bm LIMIT ?"
        ") t JOIN memories m ON m.rowid = t.rowid "
        f"WHERE {where} ORDER BY t.bm LIMIT ?"
    )
    return RecallSql(
        pool=pool,
        search=search,
        search_args=(*inner_args, fetch, *filter_args, pool),
        filters=where,
        filter_args=tuple(filter_args),
        inner=inner,
        inner_args=tuple(inner_args),
        fetch=fetch,
    )


async def run_recall(
    db: Database,
    clock: Clock,
    semantic: ranking.DenseIndex | None,
    query: RecallQuery,
    counts: WordCounts | None = None,
) -> list[Recalled]:
    """The query's best memories, best first, each with its score and its evidence: the
    lexical leg, fused with the semantic leg (`semantic`) when it is on and the order is by
    relevance; a superseded memory below its successor (`succession`). `counts`: the words'
    counts kept across recalls (None: counted for this one only)."""
    plan = fts.plan(query.context, query.expanded_query)
    dense = semantic if query.sort_by == "relevance" else None
    if not plan.terms and dense is None:
        return []
    sql = recall_sql(query)
    nearest: asyncio.Task[ranking.DenseHits | None] | None = None
    if dense is not None:
        # Embedding the query (a thread) overlaps the lexical query (another thread).
        text = f"{query.context} {query.expanded_query}".strip()
        nearest = asyncio.create_task(dense.search(text, ranking.DENSE_POOL, query.static_query))
    rows: list[sqlite3.Row] = []
    try:
        if plan.terms:
            # One hop to the reader's thread (reader.py). `counts` is then used from the
            # readers' threads: its dict operations are each atomic, and a count kept or
            # cleared meanwhile by another recall is one some order of recalls would see.
            async with db.reader() as conn:
                rows = await conn.batch(lambda c: _lexical_rows(c, plan, sql, counts))
    except BaseException:
        if nearest is not None:
            nearest.cancel()
        raise
    wanted = [fts.stem(t) for t in plan.terms]
    forms = fts.surface_forms(wanted)
    best_bm = min((r["bm"] for r in rows), default=0.0)
    lexical: dict[int, float] = {}
    found: dict[int, dict[str, list[int]]] = {}  # the query words each row holds
    for row in rows:
        held = found[row["rowid"]] = fts.positions_of(_text(row), forms)
        lexical[row["rowid"]] = ranking.found_relevance(
            held, row["bm"], best_bm, wanted, plan.weights
        )
    # The query's embedding ran in its thread meanwhile (the lexical rescoring above is
    # Python on this one): wait for it only now.
    hits = await nearest if nearest is not None else None
    lexical_ids = {row["rowid"] for row in rows}
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
                lenders = [row["rowid"] for row, _ in best]
                if near := ranking.neighbour_rowids(lenders, [row["rowid"] for row in rows]):
                    rows.extend(await c.execute_fetchall(*sql.rows(near)))
            heads = await succession.successors(c, [row["id"] for row in rows])
            known = {row["id"] for row in rows}
            absent = sorted({head for head in heads.values() if head not in known})
            if absent:
                rows.extend(await c.execute_fetchall(*sql.rows_by_id(absent)))
            return heads

        heads = await conn.batch(widen)  # one hop to its thread (reader.py)
    scored = _scored(rows, lexical, hits, now_ms, query, scores)
    if by_relevance:
        scored = ranking.lend_to_neighbours(scored, query.limit)
    ranked = succession.rank([(row["id"], score) for row, score in scored], heads, by_relevance)
    said = [fts.stem(t) for t, w in zip(plan.terms, plan.weights, strict=True) if w == 1.0]
    said_forms = {word: stemmed for word, stemmed in forms.items() if stemmed in said}
    return _results(ranked[: query.limit], rows, found, (said, said_forms), hits)


async def _lexical_rows(
    conn: aiosqlite.Connection, plan: fts.Plan, sql: RecallSql, counts: WordCounts | None
) -> list[sqlite3.Row]:
    """The lexical leg's candidates (`_match`'s MATCH, then `RecallSql.lexical`)."""
    narrowed = await _match(conn, plan, sql.pool, counts)
    return list(await conn.execute_fetchall(*sql.lexical(narrowed)))


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
    by_id = {row["id"]: row for row in rows}

    def evidence_of(memory_id: str) -> Evidence:
        row = by_id[memory_id]
        held = found.get(row["rowid"])
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
    return " ".join((row["content"] or "", row["expanded_keywords"], row["tags"]))


def _evidence(
    row: sqlite3.Row,
    said: list[str],
    held: dict[str, list[int]],
    hits: ranking.DenseHits | None,
) -> Evidence:
    """What `row` has in common with the query: of the stemmed words of its `context`
    (`said`), those it holds (`held`, fts.positions), and its similarity."""
    matched = sum(1 for t in said if t in held)
    cosine = hits.cosine(row["rowid"]) if hits is not None else None
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
    known = {} if known is None else known
    scored = []
    for row in rows:
        score = known.get(row["rowid"])
        if score is not None:
            scored.append((row, score))
            continue
        relevance = lexical.get(row["rowid"], 0.0)
        if hits is not None:
            # Every candidate's own cosine, not only the nearest's: a lexical match just
            # outside the dense top-k is not scored as if it were unrelated.
            relevance = ranking.fuse(
                relevance, best_lexical, hits.cosine(row["rowid"]), hits.best, weight
            )
        candidate = ranking.Candidate(
            relevance=relevance,
            importance=row["importance"],
            age_days=ranking.age_days(now_ms, row["updated_ms"]),
            project=row["project"],
        )
        score = known[row["rowid"]] = ranking.score(candidate, query.project)
        scored.append((row, score))
    ranking.order(scored, query.sort_by)
    return scored


@dataclass(frozen=True)
class Narrowed:
    """What `_match` decided: the candidates' MATCH; past RANKED_BUDGET rows, the common words
    left out of it, each as (the MATCH of the candidates holding it, its share of bm25); and
    whether the candidates are more than the budget, so that only the newest are ranked, and
    each of the words matched counts by its share too (in `others`), not by bm25()."""

    match: str
    others: tuple[tuple[str, float], ...] = ()
    bounded: bool = False


async def _match(
    conn: aiosqlite.Connection, plan: fts.Plan, pool: int, kept: WordCounts | None = None
) -> Narrowed:
    """The plan's MATCH, narrowed to rows holding an uncommon word when its common words would
    make FTS5 rank many rows (fts.selective). Counting each word's rows is one cheap statement
    (FTS5 reads only their document lists), about a tenth of what ranking them costs. Within
    the budget the words are counted every time and the MATCH keeps the common words
    (`(uncommon) AND (all)`) so that bm25 counts them; past it the counts are kept (`kept`)
    and the common words are left out of the MATCH, each counted by `RecallSql.lexical`."""
    if plan.phrase or len(plan.terms) < 2:
        return Narrowed(plan.match())
    indexed = await word_counts.indexed_rows(conn)
    if indexed <= fts.RANKED_BUDGET:
        # Counted only up to just past the budget: above it, a word is not among those kept
        # unless it is the rarest, and counting a common word's rows in full costs as much as
        # ranking them.
        per_term = await word_counts.count_words(conn, plan.terms, fts.RANKED_BUDGET + 1)
        rare = fts.selective(plan.terms, per_term, indexed, pool)
        if rare == plan.terms:
            return Narrowed(plan.match())
        return Narrowed(f"({fts.match_any(rare)}) AND ({plan.match()})")
    if kept is None:  # counted for this recall only
        kept = WordCounts()
    per_term = await kept.counts(conn, plan.terms, indexed)
    rare = fts.selective(plan.terms, per_term, indexed, pool)
    if rare == plan.terms:
        return Narrowed(plan.match())
    bounded = sum(n for t, n in zip(plan.terms, per_term, strict=True) if t in rare) > (
        fts.RANKED_BUDGET
    )
    shared = [t for t in plan.terms if bounded or t not in rare]
    full = await kept.counts(conn, shared, indexed, full=True)
    candidates = fts.match_any(rare)
    weight = ranking.BM25_WEIGHTS[0]  # the content column's
    shares = tuple(
        (
            fts.quote(word) if word in rare else f"({candidates}) AND {fts.quote(word)}",
            fts.presence_share(count, indexed, weight),
        )
        for word, count in zip(shared, full, strict=True)
        if count
    )
    return Narrowed(candidates, shares, bounded)
