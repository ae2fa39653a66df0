"""One succession, asked of each store that honours `supersedes` (the daemon's store, the hub):
an old decision that is short and says the question's words (alone it would win by far), its
successor, and an unrelated memory that shares a word with the question."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

QUESTION = "Where do our CI pipelines run?"


async def store_succession(store: Callable[..., Awaitable[str]]) -> tuple[str, str]:
    """The three memories stored through `store(content, **fields)`: the ids of the old
    decision and of its successor."""
    old = await store("All CI pipelines run on CircleCI.")
    new = await store(
        "CI moved from CircleCI to GitHub Actions in January; leftover folders can go.",
        supersedes=old,
    )
    await store("Pipelines for data live in Dagster.")
    return old, new
