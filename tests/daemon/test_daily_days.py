"""The day a daily counter counts in (memoryd.daily_stats): today's name is remembered by day
number, and the count moves to the next day at UTC midnight, to the millisecond."""

from __future__ import annotations

from memoryd.daily_stats import DailyCounters, day_of
from memoryd.store.memories import MemoryStore
from tests.conftest import FakeClock

DAY_MS = 86_400_000


async def test_counts_move_to_the_next_day_at_utc_midnight(
    store: MemoryStore, clock: FakeClock
) -> None:
    clock.ms = 20_000 * DAY_MS - 1  # the last millisecond of a UTC day
    daily = DailyCounters(store.db, clock)
    daily.count("injections", 2)
    daily.timed("prompt_hook", 4.0)
    clock.advance(1)
    daily.count("injections")
    daily.timed("prompt_hook", 4.0)
    days = (await daily.read(2))["days"]
    assert [(d["day"], d["injections"], d["prompt_hook"]) for d in days] == [
        (day_of(20_000 * DAY_MS - 1), 2, 1),
        (day_of(20_000 * DAY_MS), 1, 1),
    ]
    assert days[0]["day"] == "2024-10-03" and days[1]["day"] == "2024-10-04"
