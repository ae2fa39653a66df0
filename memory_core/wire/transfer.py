"""The files `memory export` writes and `memory import` reads (and the viewer's import and
export with them): JSON lines, or a JSON array, of export records."""

from __future__ import annotations

import json
from typing import Any

from memory_core.errors import InvalidInput

# How an original claude-memory-mcp database (or any SQLite file) begins.
SQLITE_HEADER = b"SQLite format 3\x00"


def read_items(text: str, name: str) -> list[Any]:
    """The records of an export file: a JSON array, or one JSON object per line. `name` says
    which file in the error. json.JSONDecodeError (a ValueError) for a line that is not JSON."""
    if text.lstrip().startswith("["):
        data = json.loads(text)
        if not isinstance(data, list):
            raise InvalidInput(f"{name}: expected a JSON array")
        return data
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def content_withheld(item: Any) -> bool:
    """A sensitive memory exported without --include-sensitive: it carries no content, so
    there is nothing to import for it (said, rather than failing the whole file)."""
    return isinstance(item, dict) and item.get("content") is None and bool(item.get("is_sensitive"))


def read_numbered(text: str) -> tuple[list[tuple[dict[str, int], Any]], list[dict[str, Any]]]:
    """The records of an export file, each with where it is (`line`, from 1, in JSON lines;
    `index`, from 0, in a JSON array), and the lines that are not JSON, each with its reason:
    one bad line is reported, not the end of the file. A JSON array is one document, so one
    that does not parse is a ValueError for the whole file."""
    if text.lstrip().startswith("["):
        return [({"index": i}, item) for i, item in enumerate(read_items(text, "file"))], []
    records: list[tuple[dict[str, int], Any]] = []
    broken: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(({"line": number}, json.loads(line)))
        except ValueError as exc:
            broken.append({"line": number, "reason": f"not JSON: {exc}", "code": "invalid"})
    return records, broken
