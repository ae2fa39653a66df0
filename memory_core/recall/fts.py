"""Turns any user text into a safe FTS5 query. Never raises, whatever the input.

Every term is emitted as a quoted FTS5 string, so operators (AND, OR, NOT, NEAR), column filters,
`*`, `-`, `^`, quotes and parentheses in the user's text are plain words to SQLite.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

MAX_TERMS = 32

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)

_STOPWORD_TEXT = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    s t don ll re ve d m also get got did does
    kind type sort think say said feel felt like likely might something anything
"""
# The second part is question filler ("what kind of ...", "would she say ...") that matched
# chit-chat on the LoCoMo dev conversations; dropping it gained ~0.5 pp there.
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def words(text: str) -> list[str]:
    """Lower-cased words in order, repeats kept."""
    out = []
    for match in _WORD.finditer(text.lower()):
        word = match.group().replace("’", "'").split("'")[0]
        if word:
            out.append(word)
    return out


def terms(text: str) -> list[str]:
    """Distinct lower-cased words in order, stopwords dropped unless nothing else is left."""
    distinct = list(dict.fromkeys(words(text)))
    content = [w for w in distinct if w not in STOPWORDS]
    return (content or distinct)[:MAX_TERMS]


@dataclass(frozen=True)
class Plan:
    """The terms of a recall query, each with how much it counts: `context` words fully,
    `expanded_query` words (an agent's guesses at related words) less. A query made only of
    stopwords ("the who", "to be or not to be") is matched as the phrase it is: any-word
    matching would score most of the store (each such word is in most rows) for nothing."""

    terms: list[str]
    weights: list[float]
    phrase: tuple[str, ...] = ()

    def match(self) -> str:
        if self.phrase:
            return quote(" ".join(self.phrase))
        return match_any(self.terms)


EXPANDED_WEIGHT = 0.5


def plan(context: str, expanded: str = "") -> Plan:
    """Never raises: whatever the text, the result is a (possibly empty) plan."""
    said, guessed = words(context), words(expanded)
    main = [w for w in dict.fromkeys(said) if w not in STOPWORDS]
    extra = [w for w in dict.fromkeys(guessed) if w not in STOPWORDS and w not in main]
    if not main and not extra:
        sequence = tuple((said or guessed)[:MAX_TERMS])
        distinct = list(dict.fromkeys(sequence))
        return Plan(distinct, [1.0] * len(distinct), sequence if len(sequence) > 1 else ())
    chosen = (main + extra)[:MAX_TERMS]
    weights = [1.0 if i < len(main) else EXPANDED_WEIGHT for i in range(len(chosen))]
    return Plan(chosen, weights)


# FTS5 computes BM25 for every row that holds any query word, and that is most of a recall's
# cost when a word is common (a name in a tenth of the store). Such a word barely moves BM25
# (its IDF is low), so when the words together match many rows, only rows holding an uncommon
# word are candidates: `(uncommon words) AND (all words)`, so that BM25 still counts the common
# ones among the candidates (measured on LoCoMo padded to 10k: dropping them from the MATCH
# outright cost 2.3 points of R@10, this form 0.5, and it is still ~2x cheaper than all words).
COMMON_SHARE = 0.07  # a word in more than this share of the indexed rows is common
SELECTIVE_FROM = 1500  # ... and only once the words match this many rows in all
# At a million memories even the uncommon words (under 7%) of a prompt made of everyday words
# ("who owns checkout and how do I deploy it to staging") hold tens of thousands of rows each,
# and ranking each costs 2-3 us: 200 ms a recall (docs/benchmarks.md, "Scale"). So the words
# matched are also the rarest ones only, as many as fit in this many rows; the others are still
# counted by bm25 among those. A store of at most that many rows is ranked whole anyway.
RANKED_BUDGET = 10_000


def selective(terms: list[str], counts: list[int], indexed: int, enough: int) -> list[str]:
    """The words worth matching, given how many rows hold each (`counts`, which may be capped
    just above RANKED_BUDGET) out of `indexed`: all of them, unless they would make FTS5 rank
    many rows and the uncommon ones alone still match `enough` rows to fill the candidate pool;
    and of those, the rarest that together hold at most RANKED_BUDGET rows (at least the
    rarest that holds any).
    Past the budget, the next word is not added even if the rarer ones hold too few rows to fill
    the pool: it would bring in thousands of rows holding one common word, and `recall_sql`
    ranks only the newest RANKED_BUDGET rows of a MATCH, which could leave out the rows of the
    rarest words, the ones the query is about."""
    if sum(counts) <= SELECTIVE_FROM:
        return terms
    held = list(zip(terms, counts, strict=True))
    rare = [(t, c) for t, c in held if c <= COMMON_SHARE * indexed]
    if rare and sum(c for _, c in rare) >= enough:
        held = rare
    if indexed <= RANKED_BUDGET:  # the whole store is within the budget
        return [t for t, _ in held]
    chosen: set[str] = set()
    total = 0
    for term, count in sorted(held, key=lambda pair: pair[1]):
        if total and total + count > RANKED_BUDGET:  # a word in no row adds none
            break
        chosen.add(term)
        total += count
    return [t for t in terms if t in chosen]


def selective_cap(indexed: int) -> int:
    """How far each word's rows need counting for `selective` to decide as on its exact
    counts, when `indexed` is at most RANKED_BUDGET. There it returns the words it holds, and
    that depends only on (1) whether the counts' sum exceeds SELECTIVE_FROM, (2) which counts
    exceed COMMON_SHARE * indexed, (3) the exact sum of those that do not. A count cut down to
    this cap (one past both bounds) is the exact one wherever it is at most a bound, and past
    the cap it stays past both bounds, so each of the three comes out the same
    (tests/recall/test_selective_cap.py). At 10k rows that is 1501 rows, not RANKED_BUDGET + 1:
    a word in most rows was read through its whole document list, only to be left out."""
    return max(SELECTIVE_FROM, math.floor(COMMON_SHARE * indexed)) + 1


# FTS5's bm25() (fts5_aux.c): its k1 (its b does not matter for a row of average length),
# and its IDF, floored just above zero.
BM25_K1 = 1.2


def idf(count: int, indexed: int) -> float:
    """FTS5's inverse document frequency of a word `count` of the `indexed` rows hold."""
    value = math.log((indexed - count + 0.5) / (count + 0.5))
    return value if value > 0 else 1e-6


def presence_share(count: int, indexed: int, weight: float) -> float:
    """What one word adds to FTS5's bm25 score of a row holding it once, in a column of
    `weight`, the row of average length: its IDF times the term-frequency factor
    tf (k1 + 1) / (tf + k1) at tf = `weight`. Past RANKED_BUDGET rows, recall adds this for
    each common word a candidate holds instead of letting bm25() count the word's whole
    document list for its IDF (memoryd/store/recall_sql.py)."""
    return idf(count, indexed) * weight * (BM25_K1 + 1) / (weight + BM25_K1)


def quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def match_any(words: list[str]) -> str:
    """An FTS5 MATCH expression for rows containing any of the words ('' if there are none)."""
    return " OR ".join(quote(w) for w in words)


_SUFFIXES = (
    "ational",
    "ization",
    "fulness",
    "iveness",
    "ations",
    "ingly",
    "ement",
    "ments",
    "ness",
    "ment",
    "ings",
    "ing",
    "edly",
    "ies",
    "ied",
    "ers",
    "est",
    "ed",
    "er",
    "es",
    "ly",
    "s",
)


# The suffixes by length, longest first. Of the suffixes a word ends with, _SUFFIXES lists
# the longer before the shorter (tests/recall/test_stem.py checks it), so the first that
# `stem` may strip is the longest it may strip: one look-up per length finds it, where
# trying each suffix in turn was ~22 `endswith` calls for a word seen for the first time
# (each prompt brings some: its stems' surface forms are new words, ~0.1 ms a prompt).
_SUFFIXES_BY_LENGTH = tuple(
    (length, frozenset(s for s in _SUFFIXES if len(s) == length))
    for length in sorted({len(s) for s in _SUFFIXES}, reverse=True)
)


@functools.lru_cache(maxsize=65_536)  # a pure function over a bounded vocabulary
def stem(word: str) -> str:
    """A crude suffix stripper, only to tell which query words a candidate row contains: the
    first of _SUFFIXES that the word ends with, if at least 3 letters remain."""
    for length, suffixes in _SUFFIXES_BY_LENGTH:
        if len(word) - length >= 3 and word[-length:] in suffixes:
            return word[:-length]
    return word


# Rescoring tokenizes every candidate of every recall, as `_WORD` does (letters and digits, with
# inner apostrophes kept). ASCII text, the common case, goes through bytes.translate + split,
# about three times cheaper than the regex; only its tokens holding an apostrophe are re-split.
# (Splitting possessives instead, "caroline's" -> "caroline", was measured: LoCoMo dev R@10
# +0.6, test -0.1; not taken.)
_ASCII_SEPARATORS = bytes(b if chr(b).isalnum() or b == 0x27 else 0x20 for b in range(256))


def tokens(text: str) -> list[str]:
    lowered = text.lower()
    if not lowered.isascii():
        return _WORD.findall(lowered)
    words = lowered.encode().translate(_ASCII_SEPARATORS).decode().split()
    if "'" not in lowered:
        return words
    return [part for word in words for part in (_WORD.findall(word) if "'" in word else (word,))]


def positions(text: str, wanted: Collection[str]) -> dict[str, list[int]]:
    """Word indexes, in the text, of each stem in `wanted` that it holds."""
    found: dict[str, list[int]] = {}
    for index, word in enumerate(tokens(text)):
        stemmed = stem(word)
        if stemmed in wanted:
            found.setdefault(stemmed, []).append(index)
    return found


def surface_forms(wanted: Collection[str]) -> dict[str, str]:
    """Every word that `stem` turns into one of the stems `wanted`, with that stem."""
    return {word: stemmed for stemmed in wanted for word in _forms_of(stemmed)}


@functools.lru_cache(maxsize=4096)  # a pure function over a bounded vocabulary, like `stem`
def _forms_of(stemmed: str) -> tuple[str, ...]:
    """The words `stem` turns into `stemmed`: it strips at most one of `_SUFFIXES`, so such a
    word is the stem itself or the stem plus one of them, those it gives the stem back for."""
    words = (stemmed, *(stemmed + suffix for suffix in _SUFFIXES))
    return tuple(word for word in words if stem(word) == stemmed)


def positions_of(text: str, forms: Mapping[str, str]) -> dict[str, list[int]]:
    """`positions(text, wanted)` given `surface_forms(wanted)`, made once for all of a
    recall's candidates: a look-up per word of the text instead of stemming each (rescoring
    tokenizes and stems every candidate of every recall: ~60 texts)."""
    found: dict[str, list[int]] = {}
    form_of = forms.get
    for index, word in enumerate(tokens(text)):
        stemmed = form_of(word)
        if stemmed is not None:
            found.setdefault(stemmed, []).append(index)
    return found


def adjacent_pairs(wanted: list[str], found: Mapping[str, list[int]], window: int = 3) -> float:
    """Share of consecutive query-term pairs that occur within `window` words of each other
    in the text (either order): phrases such as "support group" count above scattered words.
    `found` is `positions(text, wanted)`."""
    return pairs_near(query_pairs(wanted), found, window)


def query_pairs(wanted: list[str]) -> list[tuple[str, str]]:
    """The consecutive pairs of distinct query terms that `adjacent_pairs` looks for."""
    return [(a, b) for a, b in itertools.pairwise(wanted) if a != b]


def pairs_near(
    pairs: list[tuple[str, str]], found: Mapping[str, list[int]], window: int = 3
) -> float:
    """`adjacent_pairs` given the query's `query_pairs`, made once for all its candidates."""
    if not pairs or len(found) < 2:
        return 0.0
    hits = 0
    for a, b in pairs:
        if any(abs(i - j) <= window for i in found.get(a, ()) for j in found.get(b, ())):
            hits += 1
    return hits / len(pairs)
