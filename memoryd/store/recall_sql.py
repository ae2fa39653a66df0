"""Recall's SQL: `recall_sql` builds a query's statements from the query alone (pure);
`narrow` decides the lexical leg's MATCH from the words' counts, and `lexical_rows` runs it.

What is the daemon's own in recall is this SQLite side: FTS5's bm25 inside the index, the join
to the rows, the MATCH narrowed to the rarer words (memory_core.recall.fts.selective), and the
statements reading the semantic leg's rows and the successors. recall.py runs them and ranks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from memory_core.model import normalize_category
from memory_core.recall import fts, ranking
from memoryd.store import word_counts
from memoryd.store.records import RecallQuery
from memoryd.store.rows import COLUMNS, WIDTH
from memoryd.store.word_counts import WordCounts

_SENSITIVE_MARGIN = 20
# Every statement here selects COLUMNS (rows.py), then the row's bm25 as `bm`: its position.
BM_POSITION = WIDTH
_JOINED_COLUMNS = ", ".join("m." + c.strip() for c in COLUMNS.split(","))
_WEIGHTS = ", ".join(str(w) for w in ranking.BM25_WEIGHTS)


@dataclass(frozen=True)
class RecallSql:
    """One recall's statements, built from the query alone. The runner binds what only the
    database knows: the MATCH expression (narrowed by `narrow`) and the dense leg's rows."""

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
        """The lexical leg's statement for `narrowed` (`narrow`): `search`, unless common words
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
    pool = query.candidates or max(query.limit * ranking.POOL_FACTOR, ranking.POOL_MIN)
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


@dataclass(frozen=True)
class Narrowed:
    """What `narrow` decided: the candidates' MATCH; past RANKED_BUDGET rows, the common words
    left out of it, each as (the MATCH of the candidates holding it, its share of bm25); and
    whether the candidates are more than the budget, so that only the newest are ranked, and
    each of the words matched counts by its share too (in `others`), not by bm25()."""

    match: str
    others: tuple[tuple[str, float], ...] = ()
    bounded: bool = False


async def narrow(
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
    if kept is None:  # counted for this recall only
        kept = WordCounts()
    counted: list[int] | None = None
    if kept.within_budget:  # as at the last recall: the rows and the counts in one statement
        # Counted as far as `selective` looks at any size within the budget, each count then
        # cut to this size's cap: the same counts as counted to it.
        widest = fts.selective_cap(fts.RANKED_BUDGET)
        indexed, counted = await word_counts.rows_and_words(conn, plan.terms, widest, kept.few)
        kept.note_few(plan.terms, counted, widest)
    else:
        indexed = await word_counts.indexed_rows(conn)
    kept.within_budget = indexed <= fts.RANKED_BUDGET
    if not kept.within_budget:  # a word's few rows then may be many (an import)
        kept.few.clear()
    if indexed <= fts.RANKED_BUDGET:
        # Counted only as far as `selective` looks (fts.selective_cap): counting a common
        # word's rows in full costs as much as ranking them.
        cap = fts.selective_cap(indexed)
        if counted is not None:
            per_term = [min(count, cap) for count in counted]
        else:
            per_term = await word_counts.count_words(conn, plan.terms, cap)
        rare = fts.selective(plan.terms, per_term, indexed, pool)
        if rare == plan.terms:
            return Narrowed(plan.match())
        return Narrowed(f"({fts.match_any(rare)}) AND ({plan.match()})")
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


async def lexical_rows(
    conn: aiosqlite.Connection, plan: fts.Plan, sql: RecallSql, counts: WordCounts | None
) -> list[sqlite3.Row]:
    """The lexical leg's candidates (`narrow`'s MATCH, then `RecallSql.lexical`)."""
    narrowed = await narrow(conn, plan, sql.pool, counts)
    return list(await conn.execute_fetchall(*sql.lexical(narrowed)))
