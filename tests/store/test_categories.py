"""The categories: memoryd's five and the rest of the original project's canonical seventeen,
its fold map, case and whitespace normalised; anything else refused by name, never rewritten.
One definition (memory_core.model) serves writes, merge's check of replicated fields and the
shim's tool descriptions."""

from __future__ import annotations

import pytest

from mcp_shim.server import INSTRUCTIONS
from memory_core import merge
from memory_core.errors import InvalidInput, UnknownCategory
from memory_core.model import CATEGORIES, normalize_category

ORIGINAL_CANONICAL = {
    "facts", "decisions", "projects", "preferences", "gotchas", "references",
    "infrastructure", "runbook", "lessons", "operations", "post-mortems",
    "people", "incidents", "feedback", "process", "architecture", "sessions",
}  # fmt: skip
ORIGINAL_FOLDS = {
    "gotcha": "gotchas",
    "project": "projects",
    "reference": "references",
    "infra": "infrastructure",
    "bug": "gotchas",
    "incident": "incidents",
    "procedures": "runbook",
}


def test_the_seventeen_are_the_originals_and_memoryds_five_come_first() -> None:
    assert set(CATEGORIES) == ORIGINAL_CANONICAL and len(CATEGORIES) == 17
    assert CATEGORIES[:5] == ("facts", "preferences", "projects", "people", "decisions")
    for category in CATEGORIES:
        assert normalize_category(category) == category


@pytest.mark.parametrize(("given", "stored"), sorted(ORIGINAL_FOLDS.items()))
def test_the_originals_twins_fold(given: str, stored: str) -> None:
    assert normalize_category(given) == stored
    assert normalize_category(f"  {given.upper()}\t") == stored


@pytest.mark.parametrize("given", ["decision", "Pref", "person", " FACT "])
def test_memoryds_own_short_forms_still_fold(given: str) -> None:
    assert normalize_category(given) in CATEGORIES[:5]


@pytest.mark.parametrize("given", ["recipes", "random-stuff", "", "post mortems", "x" * 1_000_000])
def test_anything_else_is_refused_naming_the_allowed_set(given: str) -> None:
    with pytest.raises(UnknownCategory) as refused:
        normalize_category(given)
    message = refused.value.message
    assert all(category in message for category in CATEGORIES)
    assert len(message) < 600  # a 1 MB category is named, not echoed whole


def test_replicated_fields_take_every_category_and_no_other() -> None:
    for category in CATEGORIES:
        assert merge.check_remote_fields({"category": category})["category"] == category
    with pytest.raises(InvalidInput):
        merge.check_remote_fields({"category": "gotcha"})  # a replica stores the folded form


def test_the_shims_instructions_list_every_category() -> None:
    assert all(category in INSTRUCTIONS for category in CATEGORIES)
