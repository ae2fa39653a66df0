"""What the store holds, counted: for /health and /api/stats."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from memoryd.store.db import Database


async def count_live(db: Database) -> int:
    """How many live memories there are."""
    async with (
        db.reader() as conn,
        conn.execute("SELECT COUNT(*) FROM memories WHERE deleted_ms IS NULL") as cursor,
    ):
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def summary(db: Database) -> dict[str, Any]:
    """Live memories by category, project and source; totals; the database's size.

    Each read once, in order: the category and project counts from their covering indexes,
    the source counts and the totals from one pass over the table. Filtering on the live-rows
    index (`deleted_ms IS NULL`, which `+` keeps SQLite from using) looked up every live row
    by rowid, once per column: 6.2 s of CPU for `memory status` at a million memories."""
    out: dict[str, Any] = {}
    async with db.reader() as conn:
        for column in ("category", "project"):
            rows = await conn.execute_fetchall(
                f"SELECT {column}, COUNT(*) FROM memories WHERE +deleted_ms IS NULL "
                f"GROUP BY {column}"
            )
            out[f"by_{column}"] = _by_count((key or "", n) for key, n in rows)
        rows = await conn.execute_fetchall(
            "SELECT source, COUNT(*) FILTER (WHERE deleted_ms IS NULL), "
            "COUNT(*) FILTER (WHERE deleted_ms IS NULL AND is_sensitive = 1), "
            "COUNT(*) FILTER (WHERE deleted_ms IS NOT NULL) FROM memories GROUP BY source"
        )
    out["by_source"] = _by_count((source or "", live) for source, live, _, _ in rows if live)
    out["by_project"].pop("", None)
    out.update(
        total=sum(r[1] for r in rows),
        sensitive=sum(r[2] for r in rows),
        deleted=sum(r[3] for r in rows),
        db_bytes=db.size_bytes(),
    )
    return out


def _by_count(counts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Counts by key, the largest first (ties in key order); keys read as one (NULL and '')
    added up."""
    merged: dict[str, int] = {}
    for key, n in counts:
        merged[key] = merged.get(key, 0) + n
    return dict(sorted(merged.items(), key=lambda item: (-item[1], item[0])))
