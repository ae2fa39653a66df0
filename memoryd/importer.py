"""Reading memories out of the original project's SQLite database (claude-memory-mcp)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from memory_core.clock import ms_from_iso
from memory_core.errors import InvalidInput


def _importance(value: object) -> object:
    """Clamped to 0-1 as the original's tools did; a value that is no number is passed on,
    for the import to refuse that row (and report it), not the whole database."""
    try:
        return min(1.0, max(0.0, float(value or 0.5)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return value


def read_original_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield each row's id in the original database and its import item. The category is
    passed on as the original stored it: the import folds its known variants and refuses (and
    reports) the others, never turns them into another category.

    Opened read-only: importing never changes the source file."""
    if not path.is_file():
        raise InvalidInput(f"{path} does not exist")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InvalidInput(f"cannot open {path}: {exc}") from None
    try:
        conn.row_factory = sqlite3.Row
        try:
            columns = {r[1] for r in conn.execute("PRAGMA table_info(memories)")}
        except sqlite3.DatabaseError as exc:
            raise InvalidInput(f"{path} is not a SQLite database: {exc}") from None
        if not {"content", "category", "tags"} <= columns:
            raise InvalidInput(f"{path} has no claude-memory-mcp `memories` table")
        deleted = "WHERE deleted_at IS NULL" if "deleted_at" in columns else ""
        # rowid: the original's INTEGER PRIMARY KEY `id`, which its tools show as `#id`.
        query = f"SELECT rowid AS source_rowid, * FROM memories {deleted} ORDER BY rowid"
        for row in conn.execute(query):
            item: dict[str, Any] = {
                "content": row["content"],
                # As the original stored it: the import folds its twins (memory_core.model) and
                # refuses, naming it, a category that is neither; it never becomes another one.
                "category": row["category"] or "facts",
                "tags": [t for t in str(row["tags"] or "").split(",") if t.strip()],
                "expanded_keywords": row["expanded_keywords"] or ""
                if "expanded_keywords" in columns
                else "",
                "importance": _importance(row["importance"]) if "importance" in columns else 0.5,
                "force_sensitive": "is_sensitive" in columns and bool(row["is_sensitive"]),
                "source": "import",
            }
            for stamp in ("created_at", "updated_at"):
                if stamp in columns and row[stamp]:
                    try:
                        ms_from_iso(row[stamp])
                        item[stamp] = row[stamp]
                    except ValueError:
                        pass
            yield int(row["source_rowid"]), item
    finally:
        conn.close()
