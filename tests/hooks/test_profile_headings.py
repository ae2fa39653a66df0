"""The SessionStart profile names each category's section with a heading of its own: the twelve
categories of the original project show under headings, never under their raw names."""

from __future__ import annotations

from memory_core.model import CATEGORIES, Memory
from memoryd.sessions.profile import Weighed, header, render


def test_every_category_has_a_heading_of_its_own() -> None:
    ranked = []
    for n, category in enumerate(CATEGORIES):
        memory = Memory.blank(f"m{n}", content=f"a memory about {category}", category=category)
        ranked.append(Weighed(memory, 1.0))
    text, shown = render("ledger", ranked, budget=100_000)
    assert len(shown) == len(CATEGORIES)
    lines = text.removeprefix(header("ledger")).splitlines()
    headings = [line for line in lines if line and not line.startswith("- ")]
    assert len(headings) == len(set(headings)) == len(CATEGORIES), headings
    assert all(line.endswith(":") and line not in CATEGORIES for line in headings)
    # One memory per category, each right under its heading; standing rules come first.
    assert [lines.index(h) + 1 for h in headings] == [
        n for n, line in enumerate(lines) if line.startswith("- a memory about ")
    ]
    assert headings[0] == "Preferences:" and headings[-1] == "Facts:"
    assert "Gotchas:" in headings and "Post-mortems:" in headings
