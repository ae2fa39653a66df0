"""Turns any user text into a safe FTS5 query. Never raises, whatever the input.

Every term is emitted as a quoted FTS5 string, so operators (AND, OR, NOT, NEAR), column filters,
`*`, `-`, `^`, quotes and parentheses in the user's text are plain words to SQLite.
"""

from __future__ import annotations

import re

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
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def terms(text: str) -> list[str]:
    """Distinct lower-cased words in order, stopwords dropped unless nothing else is left."""
    words: list[str] = []
    for match in _WORD.finditer(text.lower()):
        word = match.group().replace("’", "'").split("'")[0]
        if word and word not in words:
            words.append(word)
    content = [w for w in words if w not in STOPWORDS]
    return (content or words)[:MAX_TERMS]


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


def stem(word: str) -> str:
    """A crude suffix stripper, only to tell which query words a candidate row contains."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def stems(text: str) -> set[str]:
    return {stem(w) for w in _WORD.findall(text.lower())}
