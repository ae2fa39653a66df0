"""Imports that skip the rows they cannot take and report them, instead of failing whole.

The store's import is all or nothing: it checks every item before it writes any, and an
invalid one is a 422 naming the item's index (`item` in the error, memory_core.writes). A store
that skips by itself (the hub, `SkipsInvalid`) is asked once. Otherwise that item is set aside
with the reason, and the items before and after it are imported again the same way, so each
bad row costs one more try of its neighbours and nothing is written twice (a try that failed
wrote nothing; a repeat of a written item merges as a duplicate). Each skipped row is named by
where it came from: its id in an original claude-memory-mcp database (`row`), its line in a
JSON-lines file (`line`), or its index in the request (`item`).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from memory_core.errors import InvalidInput
from memoryd.store.backend import MemoryBackend
from memoryd.store.records import ImportResult, NewMemory

# Where an item came from, e.g. {"row": 12}; the report's entries add {"reason": ...}.
Source = dict[str, Any]


@runtime_checkable
class SkipsInvalid(Protocol):
    """A store that sets refused items aside itself and names them by index (the hub, in
    HTTP-only mode: memoryd.remote): one request instead of one more try per refused item."""

    async def import_skipping_invalid(
        self, items: list[NewMemory]
    ) -> tuple[ImportResult, list[tuple[int, InvalidInput]]]: ...


def skipped(source: Source, error: InvalidInput, index: int) -> dict[str, Any]:
    """The report's entry for a row refused with `error` as item `index` of a request."""
    reason = error.message.removeprefix(f"item {index}: ")
    return {**source, "reason": reason, "code": error.code}


async def import_skipping(
    store: MemoryBackend, entries: list[tuple[Source, NewMemory]]
) -> tuple[ImportResult, list[dict[str, Any]]]:
    """Import every entry the store takes; the others are returned, each with its reason, in
    the order of the entries."""
    if isinstance(store, SkipsInvalid):
        try:
            result, refused = await store.import_skipping_invalid([new for _, new in entries])
        except InvalidInput as exc:
            if not isinstance(exc.extra.get("item"), int):
                raise
            # A hub from before it skipped itself refused the whole import: skip item by item.
        else:
            return result, [skipped(entries[index][0], error, index) for index, error in refused]
    total = ImportResult()
    rejected: list[dict[str, Any]] = []
    pending = [entries]  # a stack of runs still to import; the next run is on top
    while pending:
        run = pending.pop()
        if not run:
            continue
        try:
            done = await store.import_many([new for _, new in run])
        except InvalidInput as exc:
            index = exc.extra.get("item")
            if not isinstance(index, int) or not 0 <= index < len(run):
                raise
            rejected.append(skipped(run[index][0], exc, index))
            pending.extend([run[index + 1 :], run[:index]])
            continue
        total.imported += done.imported
        total.duplicates += done.duplicates
        total.existing += done.existing
        total.results.extend(done.results)
    return total, rejected
