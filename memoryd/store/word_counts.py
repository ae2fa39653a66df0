"""How many rows of the full-text index there are, and how many hold each query word: what
recall narrows its candidates by (`fts.selective`) and, past `fts.RANKED_BUDGET` rows, the IDF
of the common words it leaves out of the MATCH (`fts.presence_share`).

At a million memories counting was a fifth of a recall: `count(*)` over the index's docsize
table reads a row per memory (7 ms), and each word's count is a statement of its own (0.6 ms
even capped at the budget; a common word counted in full reads its whole document list, 1-7
ms). So the number of rows comes from FTS5's own averages record (one row, read by rowid), and
past the budget the words' counts are kept (`WordCounts`) for as long as the index has not
grown or shrunk by more than `DRIFT` of its rows: there the counts only choose which words
are matched and weigh the others, and a few stale rows in a million move neither. Within the
budget no count is kept: every recall counts, only as far as `fts.selective` looks
(`fts.selective_cap`, 1,501 rows at 10k), with the index's rows in the same statement. What is
kept there only chooses the statements (`WordCounts.within_budget`, `WordCounts.few`), never a
count: at 10k memories that took the prompt hook's counting from 0.21 to 0.15 ms of CPU.
"""

from __future__ import annotations

import functools
from collections.abc import Collection

import aiosqlite

from memory_core.recall import fts

DRIFT = 0.01  # a kept count is recounted once the index's rows changed by this share
MAX_WORDS = 50_000  # kept counts; past it they are dropped and counted again as asked

# FTS5 keeps, at rowid 1 of its %_data table, the number of rows it indexes followed by each
# column's token total (fts5_index.c, FTS5_AVERAGES_ROWID), in SQLite's varint format.
_AVERAGES = "SELECT block FROM memories_fts_data WHERE id = 1"


def varint_at(block: bytes, at: int = 0) -> tuple[int, int]:
    """The SQLite variable-length integer at `at` in `block` (big-endian, seven bits a byte
    while the high bit is set, the ninth byte whole), and where the next one starts."""
    value = 0
    for index, byte in enumerate(block[at : at + 9]):
        if index == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + index + 1
    return value, len(block)


def first_varint(block: bytes) -> int:
    """The first of SQLite's variable-length integers in `block`."""
    return varint_at(block)[0]


async def indexed_rows(conn: aiosqlite.Connection) -> int:
    """How many rows the full-text index holds (those of `memories_fts_docsize`)."""
    rows = list(await conn.execute_fetchall(_AVERAGES))
    return first_varint(bytes(rows[0][0])) if rows and rows[0][0] else 0


@functools.lru_cache(maxsize=256)  # a pure function of a few small integers
def _count_sql(caps: tuple[int | None, ...], with_rows: bool = False) -> str:
    """Each word's count up to its cap. Counted in full (None), `count(*)` runs on the MATCH
    itself and costs half as much a row as on a LIMIT's subquery, a co-routine each row passes
    through (29 against 56 ns at 10k memories)."""

    def one(cap: int | None) -> str:
        if cap is None:
            return "(SELECT count(*) FROM memories_fts WHERE memories_fts MATCH ?)"
        return (
            "(SELECT count(*) FROM (SELECT 1 FROM memories_fts WHERE memories_fts MATCH ? "
            f"LIMIT {cap}))"
        )

    rows = [f"({_AVERAGES})"] if with_rows else []
    return "SELECT " + ", ".join([*rows, *map(one, caps)])


async def count_words(conn: aiosqlite.Connection, words: list[str], cap: int | None) -> list[int]:
    """How many rows hold each word, each counted up to `cap` (None: in full); one statement."""
    if not words:
        return []
    sql = _count_sql((cap,) * len(words))
    (row,) = await conn.execute_fetchall(sql, [fts.quote(w) for w in words])
    return [int(n) for n in row]


async def rows_and_words(
    conn: aiosqlite.Connection, words: list[str], cap: int, few: Collection[str] = ()
) -> tuple[int, list[int]]:
    """`indexed_rows` and `count_words(words, cap)` in one statement: a statement less on
    every recall of a store within the budget (`WordCounts.within_budget`). The words in `few`
    held fewer rows than `cap` when last counted: they are counted in full, the cheaper way
    (`_count_sql`), and cut to `cap` here, the same count."""
    caps = tuple(None if word in few else cap for word in words)
    (row,) = await conn.execute_fetchall(
        _count_sql(caps, with_rows=True), [fts.quote(w) for w in words]
    )
    indexed = first_varint(bytes(row[0])) if row[0] else 0
    return indexed, [min(int(n), cap) for n in row[1:]]


class WordCounts:
    """Counts kept across recalls past the budget (see the module's docstring). Each entry is
    (rows holding the word, whether that is its full count rather than one capped at the
    budget, the index's rows when it was counted)."""

    def __init__(self, max_words: int = MAX_WORDS) -> None:
        self._max_words = max_words
        self._kept: dict[str, tuple[int, bool, int]] = {}
        # Whether the index held at most RANKED_BUDGET rows at the last recall: if so, the
        # next one reads the rows with the counts (`rows_and_words`), else first the rows
        # alone, not to count words only to keep their counts (`recall_sql.narrow`). Only
        # which statements run depends on it, never what is decided.
        self.within_budget = True
        # The words that held fewer rows than the cap within the budget when last counted
        # (`rows_and_words`' `few`): which statement counts them, never what is decided.
        self.few: set[str] = set()

    def _fresh(self, word: str, indexed: int, full: bool) -> int | None:
        kept = self._kept.get(word)
        if kept is None or (full and not kept[1]) or abs(indexed - kept[2]) > DRIFT * kept[2]:
            return None
        return kept[0]

    def note_few(self, words: list[str], counted: list[int], cap: int) -> None:
        """Which of `words` held fewer rows than `cap` (`few`)."""
        if len(self.few) + len(words) > self._max_words:
            self.few.clear()
        for word, count in zip(words, counted, strict=True):
            if count < cap:
                self.few.add(word)
            else:
                self.few.discard(word)

    async def counts(
        self, conn: aiosqlite.Connection, words: list[str], indexed: int, full: bool = False
    ) -> list[int]:
        """How many rows hold each word: capped just past the budget (enough to choose the
        words to match), or with `full` its whole count (for its IDF)."""
        known = {w: n for w in words if (n := self._fresh(w, indexed, full)) is not None}
        missing = [w for w in words if w not in known]
        cap = None if full else fts.RANKED_BUDGET + 1
        counted = await count_words(conn, missing, cap)
        if len(self._kept) + len(missing) > self._max_words:
            self._kept.clear()
        for word, count in zip(missing, counted, strict=True):
            self._kept[word] = (count, full or count < fts.RANKED_BUDGET + 1, indexed)
            known[word] = count
        cap_at = fts.RANKED_BUDGET + 1
        return [known[w] if full else min(known[w], cap_at) for w in words]
