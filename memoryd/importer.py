"""Reading memories out of the original project's SQLite database (claude-memory-mcp)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from memory_core.clock import ms_from_iso
from memory_core.errors import InvalidInput


def read_original_db(path: Path) -> Iterator[dict[str, Any]]:
    """Yield import items (the body of POST /api/memories/import) from an original database.

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
        for row in conn.execute(f"SELECT * FROM memories {deleted} ORDER BY id"):
            item: dict[str, Any] = {
                "content": row["content"],
                # As the original stored it: the import folds its twins (memory_core.model) and
                # refuses, naming it, a category that is neither; it never becomes another one.
                "category": row["category"] or "facts",
                "tags": [t for t in (row["tags"] or "").split(",") if t.strip()],
                "expanded_keywords": row["expanded_keywords"] or ""
                if "expanded_keywords" in columns
                else "",
                "importance": min(1.0, max(0.0, float(row["importance"] or 0.5)))
                if "importance" in columns
                else 0.5,
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
            yield item
    finally:
        conn.close()
