"""The judge's token ledger: tokens spent per UTC day (`learn_spend`), against the daily cap.
At the cap, learning pauses until the next UTC day."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from memory_core.clock import Clock
from memoryd.store.db import Database
from memoryd.store.statement import write_statement


def utc_day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


class TokenLedger:
    def __init__(self, db: Database, clock: Clock, daily_tokens: int) -> None:
        self.db = db
        self.clock = clock
        self.daily_tokens = daily_tokens

    async def add(self, input_tokens: int, output_tokens: int) -> None:
        """Count one judge call's tokens towards today's."""
        day = utc_day(self.clock.now_ms())

        await write_statement(
            self.db,
            "INSERT INTO learn_spend (day, input_tokens, output_tokens, calls) "
            "VALUES (?, ?, ?, 1) ON CONFLICT (day) DO UPDATE SET "
            "input_tokens = input_tokens + excluded.input_tokens, "
            "output_tokens = output_tokens + excluded.output_tokens, calls = calls + 1",
            (day, input_tokens, output_tokens),
        )

    async def spent(self, day: str | None = None) -> dict[str, Any]:
        """One UTC day's spend (today's by default)."""
        day = day or utc_day(self.clock.now_ms())
        async with (
            self.db.reader() as conn,
            conn.execute(
                "SELECT input_tokens, output_tokens, calls FROM learn_spend WHERE day = ?", (day,)
            ) as cursor,
        ):
            row = await cursor.fetchone()
        used_in, used_out, calls = (row[0], row[1], row[2]) if row else (0, 0, 0)
        return {
            "day": day,
            "input_tokens": used_in,
            "output_tokens": used_out,
            "tokens": used_in + used_out,
            "calls": calls,
        }

    def over_cap(self, spent: dict[str, Any]) -> bool:
        tokens: int = spent["tokens"]
        return tokens >= self.daily_tokens

    async def exhausted(self) -> bool:
        """Whether today's spend has reached the cap."""
        return self.over_cap(await self.spent())
