"""What the store holds, counted: for /health and /api/stats."""

from __future__ import annotations

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
    """Live memories by category, project and source; totals; the database's size."""
    out: dict[str, Any] = {}
    async with db.reader() as conn:
        for column in ("category", "project", "source"):
            async with conn.execute(
                f"SELECT COALESCE({column}, ''), COUNT(*) FROM memories "
                f"WHERE deleted_ms IS NULL GROUP BY 1 ORDER BY 2 DESC"
            ) as cursor:
                out[f"by_{column}"] = {k: n for k, n in await cursor.fetchall()}
        async with conn.execute(
            "SELECT COUNT(*) FILTER (WHERE deleted_ms IS NULL), "
            "COUNT(*) FILTER (WHERE deleted_ms IS NULL AND is_sensitive = 1), "
            "COUNT(*) FILTER (WHERE deleted_ms IS NOT NULL) FROM memories"
        ) as cursor:
            row = await cursor.fetchone()
    assert row is not None
    out["by_project"].pop("", None)
    out.update(total=row[0], sensitive=row[1], deleted=row[2], db_bytes=db.size_bytes())
    return out
