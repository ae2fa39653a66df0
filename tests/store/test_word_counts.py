"""Past fts.RANKED_BUDGET rows, recall counts the index's rows from FTS5's own record, keeps the
words' counts across recalls, and leaves the common words out of the MATCH, adding for each
the share bm25() would have given it (memoryd/store/word_counts.py, recall.py)."""

from __future__ import annotations

import pytest

from memory_core.recall import fts, ranking
from memoryd.store import word_counts
from memoryd.store.memories import MemoryStore, NewMemory, Patch, RecallQuery
from memoryd.store.recall_sql import narrow
from memoryd.store.word_counts import WordCounts

_DOCSIZE = "SELECT count(*) FROM memories_fts_docsize"


def test_sqlite_varints_are_read_as_sqlite_writes_them() -> None:
    assert word_counts.first_varint(b"\x00") == 0
    assert word_counts.first_varint(b"\x7f\x05") == 127
    assert word_counts.first_varint(b"\x81\x00") == 128
    assert word_counts.first_varint(b"\xbd\x84\x40\x8c") == 1_000_000  # a 1M store's record
    assert word_counts.first_varint(b"\xff" * 8 + b"\x01") == 2**64 - 255
    # One after another: each read says where the next starts.
    block = b"\x81\x00" + b"\x05" + b"\xff" * 8 + b"\x01" + b"\x7f"
    assert word_counts.varint_at(block) == (128, 2)
    assert word_counts.varint_at(block, 2) == (5, 3)
    assert word_counts.varint_at(block, 3) == (2**64 - 255, 12)
    assert word_counts.varint_at(block, 12) == (127, 13)


async def test_the_rows_indexed_are_those_of_the_docsize_table(store: MemoryStore) -> None:
    async with store.db.reader() as conn:
        assert await word_counts.indexed_rows(conn) == 0  # no record before the first row
    made = [await store.create(NewMemory(f"note {n} about the kestrel deploy")) for n in range(40)]
    await store.create(NewMemory("api key sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c please"))
    for created in made[:5]:
        await store.delete(created.memory.id)
    await store.update(made[6].memory.id, Patch(content="a longer text about the kestrel deploy"))
    async with store.db.reader() as conn:
        (docsize,) = await conn.execute_fetchall(_DOCSIZE)
        assert await word_counts.indexed_rows(conn) == docsize[0] == 41


async def test_kept_counts_are_recounted_once_the_index_drifts(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.import_many(
        [NewMemory(f"row {n} " + ("alpha" if n % 10 == 0 else "beta")) for n in range(100)]
    )
    kept = WordCounts()
    async with store.db.reader() as conn:
        assert await kept.counts(conn, ["alpha", "gamma"], 100) == [10, 0]
    await store.create(NewMemory("one more alpha"))
    async with store.db.reader() as conn:
        # 101 rows: within 1% of the 100 it was counted at, so kept as it was.
        assert await kept.counts(conn, ["alpha"], 101) == [10]
        assert await kept.counts(conn, ["alpha"], 102) == [11]  # past it: counted again
    monkeypatch.setattr(fts, "RANKED_BUDGET", 5)
    kept = WordCounts()
    async with store.db.reader() as conn:
        assert await kept.counts(conn, ["alpha"], 101) == [6]  # capped just past the budget
        assert await kept.counts(conn, ["alpha"], 101, full=True) == [11]
        assert await kept.counts(conn, ["alpha"], 101) == [6]


async def test_a_words_share_is_what_bm25_adds_for_it(store: MemoryStore) -> None:
    """Every row four words long, so each is of average length: bm25() of a one-word MATCH on
    a row holding it once is then exactly the word's share."""
    await store.import_many(
        [NewMemory(f"{'alpha' if n % 7 == 0 else 'beta'} gamma delta w{n}") for n in range(70)]
    )
    async with store.db.reader() as conn:
        rows = await conn.execute_fetchall(
            "SELECT bm25(memories_fts, 10.0, 4.0, 2.0) FROM memories_fts "
            "WHERE memories_fts MATCH 'alpha'"
        )
    share = fts.presence_share(10, 70, ranking.BM25_WEIGHTS[0])
    assert len(rows) == 10 and all(row[0] == pytest.approx(-share, rel=1e-12) for row in rows)
    assert fts.presence_share(10, 70, 10.0) > fts.presence_share(40, 70, 10.0) > 0


_BUDGET = 20
_ASKED = "who owns checkout, and how do I deploy it to staging?"


async def _everyday_store(store: MemoryStore) -> dict[str, str]:
    """Past a budget of 20 rows: 'owns' in 30 rows, 'deploy' and 'staging' in 60 and 90,
    'checkout' in 6, and the rows the ranking is about."""
    rows = [NewMemory(f"filler {n} deploy staging") for n in range(60)]
    rows += [NewMemory(f"filler {n} staging") for n in range(30)]
    rows += [NewMemory(f"owns {n} of the old things") for n in range(30)]
    rows += [NewMemory(f"checkout is an old thing {n}") for n in range(3)]
    await store.import_many(rows)
    named = {
        "all": "checkout: who owns it, deploy it to staging",
        "one": "checkout, nothing else at all here",
        "two": "checkout deploy, nothing else here",
    }
    ids = {}
    for key, text in named.items():
        # A spacer holding none of the query's words before each: stored next to a row it
        # matches, each would lend to it (ranking.lend_to_neighbours), which is not tested here.
        await store.create(NewMemory(f"an unrelated note before {key}"))
        ids[key] = (await store.create(NewMemory(text))).memory.id
    return ids


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fts, "RANKED_BUDGET", _BUDGET)
    monkeypatch.setattr(fts, "SELECTIVE_FROM", _BUDGET)


async def test_past_the_budget_common_words_leave_the_match_and_still_rank(
    store: MemoryStore, small_budget: None
) -> None:
    ids = await _everyday_store(store)
    plan = fts.plan(_ASKED)
    async with store.db.reader() as conn:
        narrowed = await narrow(conn, plan, 50)
    assert narrowed.match == '"checkout"' and not narrowed.bounded
    left_out = {match.split(" AND ")[1]: share for match, share in narrowed.others}
    assert set(left_out) == {'"owns"', '"deploy"', '"staging"'}
    assert left_out['"owns"'] > left_out['"deploy"'] > left_out['"staging"']  # rarer: more
    found = [m.id for m, _ in await store.recall(RecallQuery(context=_ASKED))]
    assert found[:2] == [ids["all"], ids["two"]]  # holding the most of the common words


async def test_past_the_budget_the_newest_rows_of_a_common_word_rank_by_shares(
    store: MemoryStore, small_budget: None
) -> None:
    """Every word held by more rows than the budget: the rarest one's newest rows are the
    candidates, each word counting by its share (no bm25() over them)."""
    ids = await _everyday_store(store)
    plan = fts.plan("owns deploy staging")
    async with store.db.reader() as conn:
        narrowed = await narrow(conn, plan, 50)
        newest = await conn.execute_fetchall(
            "SELECT id FROM memories WHERE rowid IN (SELECT rowid FROM memories_fts "
            "WHERE memories_fts MATCH 'owns' ORDER BY rowid DESC LIMIT ?)",
            (_BUDGET,),
        )
    assert narrowed.match == '"owns"' and narrowed.bounded
    assert [match for match, _ in narrowed.others] == [
        '"owns"',
        '("owns") AND "deploy"',
        '("owns") AND "staging"',
    ]
    found = [m.id for m, _ in await store.recall(RecallQuery(context=plan.match(), limit=50))]
    assert found[0] == ids["all"]  # the one holding every word
    assert set(found) == {r[0] for r in newest}  # and only the newest rows of 'owns'


async def test_within_the_budget_the_match_keeps_every_word_for_bm25(store: MemoryStore) -> None:
    await _everyday_store(store)
    plan = fts.plan(_ASKED)
    async with store.db.reader() as conn:
        narrowed = await narrow(conn, plan, 50)
    assert narrowed.others == () and narrowed.match == plan.match()


async def test_the_rows_read_with_the_counts_are_those_read_apart(store: MemoryStore) -> None:
    async with store.db.reader() as conn:
        assert await word_counts.rows_and_words(conn, ["kestrel", "deploy"], 5) == (0, [0, 0])
    await store.import_many(
        [NewMemory(f"note {n} about the {'kestrel' if n % 4 else 'wren'}") for n in range(40)]
    )
    words = ["kestrel", "wren", "absent"]
    async with store.db.reader() as conn:
        together = await word_counts.rows_and_words(conn, words, 20)
        # Counted in full (held fewer rows last time), each still cut to the cap.
        assert await word_counts.rows_and_words(conn, words, 20, few=set(words)) == together
        apart = (
            await word_counts.indexed_rows(conn),
            await word_counts.count_words(conn, words, 20),
        )
    assert together == apart == (40, [20, 10, 0])


@pytest.mark.parametrize(("budget", "within"), [(_BUDGET, False), (fts.RANKED_BUDGET, True)])
async def test_narrow_decides_the_same_whichever_statements_it_reads_by(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch, budget: int, within: bool
) -> None:
    """`WordCounts.within_budget` only chooses whether the rows are read with the counts."""
    monkeypatch.setattr(fts, "RANKED_BUDGET", budget)
    monkeypatch.setattr(fts, "SELECTIVE_FROM", _BUDGET)
    await _everyday_store(store)
    plan = fts.plan(_ASKED)
    decided = []
    for within_budget in (True, False):
        kept = WordCounts()
        kept.within_budget = within_budget
        async with store.db.reader() as conn:
            decided.append(await narrow(conn, plan, 50, kept))
        assert kept.within_budget == within
    assert decided[0] == decided[1]


async def test_a_word_is_counted_in_full_while_it_holds_fewer_rows_than_the_cap(
    store: MemoryStore,
) -> None:
    await _everyday_store(store)
    kept = WordCounts()
    plan = fts.plan(_ASKED)
    async with store.db.reader() as conn:
        first = await narrow(conn, plan, 50, kept)
        cap = fts.selective_cap(fts.RANKED_BUDGET)
        assert kept.few == set(plan.terms)  # every word in fewer rows than 1501
        kept.note_few(["deploy"], [cap], cap)  # as if it had reached the cap
        assert "deploy" not in kept.few
        assert await narrow(conn, plan, 50, kept) == first
