"""The prompt hook's relevance floor: inject a recalled memory only on evidence that the prompt
is about it, so that small talk ("thanks, that worked!") and prompts about nothing stored
inject nothing.

Recall always has a best candidate; its score says how it ranks against the others, not
whether it is relevant ("worked" stems to "work": "I work 8:30-17:00 CET"). The floor asks the
evidence recall returns with each memory (memoryd.store.records.Evidence):

- lexical: the memory holds at least two of the prompt's content words making up 30% of them
  (the one word of a one-word prompt), or any three of them, and it scores at least half of
  the best candidate;
- semantic: its similarity with the prompt stands out from the prompt's similarities with the
  whole store by SEMANTIC_STANDOUT (memory_core.recall.ranking.standout: a standard score
  less what the best of that many unrelated memories reaches by chance).

Chosen on the coding benchmark's dev split (bench/coding/floor.py prints the grid), as the
middle of the settings that keep small talk under half a memory per prompt. Against the floor
before it (half the best score), the prompt hook on its own (lexical / semantic): small talk
3.3 / 4.6 memories per prompt -> 0 / 0.13; precision 23 / 25% -> 60 / 57%; share of the needed
memories injected 55 / 60% -> 55 / 59%.
"""

from __future__ import annotations

from memoryd.store.records import Recalled

RELATIVE_FLOOR = 0.5  # lexical matches: at least half the best candidate's score
MIN_WORDS = 2  # of the prompt's content words in the memory ...
MIN_SHARE = 0.3  # ... making up at least this share of them
ENOUGH_WORDS = 3  # or this many, whatever their share (a long prompt)
# Dev split, all-MiniLM-L6-v2: 1.1 (a standard score of 4.5 among 322 memories) let one
# small-talk prompt in 15 through, and brought 1 paraphrase and 1 implicit need of 15 each.
SEMANTIC_STANDOUT = 1.1


def lexical(recalled: Recalled) -> bool:
    evidence = recalled.evidence
    if evidence.matched >= ENOUGH_WORDS:
        return True
    words = evidence.matched >= MIN_WORDS or evidence.covered >= 1.0
    return words and evidence.covered >= MIN_SHARE


def semantic(recalled: Recalled) -> bool:
    standout = recalled.evidence.standout
    return standout is not None and standout >= SEMANTIC_STANDOUT


def relevant(hits: list[Recalled]) -> list[Recalled]:
    """The hits (best first) that pass the floor, in order; never a superseded one."""
    best = max((r.score for r in hits), default=0.0)
    return [
        r
        for r in hits
        if r.evidence.superseded_by is None
        and ((lexical(r) and r.score >= best * RELATIVE_FLOOR) or semantic(r))
    ]
