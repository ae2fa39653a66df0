"""Auto-learn paused per project: the user's switch (the viewer's Learned page, `memory learn
pause`). Nothing a paused project's sessions say is judged: the Stop hook answers that nothing was
queued, and the learning worker reads past those turns without judging them, so a resume does
not learn them later either. Sessions outside any project are named "(none)" here."""

from __future__ import annotations

import aiosqlite

from memory_core.clock import Clock
from memory_core.errors import InvalidInput
from memory_core.model import check_text
from memoryd.store.db import Database

NO_PROJECT = "(none)"
MAX_PROJECT_CHARS = 200


def key_of(project: str | None) -> str:
    return project or NO_PROJECT


def check_project(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_PROJECT_CHARS:
        raise InvalidInput(f"project must be a name of 1 to {MAX_PROJECT_CHARS} characters")
    return check_text("project", raw.strip())


class LearnPause:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def paused(self) -> dict[str, int]:
        """Each paused project, with when it was paused (ms)."""
        async with self.db.reader() as conn:
            rows = await conn.execute_fetchall("SELECT project, at_ms FROM learn_paused")
        return {r[0]: r[1] for r in rows}

    async def is_paused(self, project: str | None) -> bool:
        async with self.db.reader() as conn:
            rows = await conn.execute_fetchall(
                "SELECT 1 FROM learn_paused WHERE project = ?", (key_of(project),)
            )
        return bool(rows)

    async def set(self, project: str, paused: bool) -> None:
        now = self.clock.now_ms()

        async def job(conn: aiosqlite.Connection) -> None:
            if paused:
                await conn.execute(
                    "INSERT OR IGNORE INTO learn_paused (project, at_ms) VALUES (?, ?)",
                    (project, now),
                )
            else:
                await conn.execute("DELETE FROM learn_paused WHERE project = ?", (project,))

        await self.db.write(job)
