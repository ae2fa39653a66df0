"""memory_core.links on its own: link types, the replicated value's rule, and cycle walks."""

from __future__ import annotations

import pytest

from memory_core import links
from memory_core.errors import InvalidInput
from memory_core.merge import check_remote_fields
from memory_core.model import parse_num

A, B, C = (f"0190000{n}-0000-7000-8000-000000000000" for n in (1, 2, 3))


def test_link_types_are_the_originals_four() -> None:
    assert links.check_type(" Part_Of ") == "part-of"
    for bad in ("related-to", "", None, 3, "x" * 10_000):
        with pytest.raises(InvalidInput, match="part-of, supersedes, see-also, resolved-by"):
            links.check_type(bad)


def test_a_replicated_links_value_is_refused_unless_a_local_write_could_have_made_it() -> None:
    good = [["part-of", A], ["see-also", B]]
    assert check_remote_fields({"links": good}) == {"links": good}
    for bad in (
        "part-of",
        [["supersedes", A]],  # supersedes is its own field
        [["part-of", "not an id"]],
        [["see-also", B], ["part-of", A]],  # unsorted: the stores would disagree on ties
        [["part-of", A], ["part-of", A]],
        [["part-of", A, "extra"]],
        [["part-of", f"{n:08x}-0000-7000-8000-000000000000"] for n in range(65)],
    ):
        with pytest.raises(InvalidInput):
            check_remote_fields({"links": bad})


async def test_reaches_follows_links_and_stops_on_cycles_and_long_walks() -> None:
    graph = {A: [B], B: [C], C: [A]}

    async def step(frontier: list[str]) -> list[str]:
        return [d for node in frontier for d in graph.get(node, [])]

    assert await links.reaches(A, C, step)
    graph[C] = []
    assert not await links.reaches(C, A, step)
    with pytest.raises(InvalidInput, match="cycle"):
        await links.refuse_cycle(C, "part-of", A, step)
    await links.refuse_cycle(C, "see-also", A, step)  # see-also may go both ways

    async def endless(frontier: list[str]) -> list[str]:
        return [f"{int(node, 16) + 1:x}" for node in frontier]

    assert await links.reaches("1", "goal", endless)  # too long a walk counts as a cycle


def test_short_integer_ids() -> None:
    assert parse_num("42") == 42
    assert parse_num(" 9223372036854775807 ") == (1 << 63) - 1
    for text in (
        "0",
        "042",
        "0193a4b2",
        "-1",
        "1e309",
        "9223372036854775808",
        "4" * 30,
        "",
        "４２",
    ):
        assert parse_num(text) is None, text
