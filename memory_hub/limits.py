"""Per-user quotas and the throttle on failed keys, kept by one `Limits` the app factory makes.

Rates are token buckets kept in PostgreSQL, so every hub instance spends from the same one
(docs/hub.md "Several instances"): a user's bucket holds `ops_per_minute` ops and refills at
that rate, a client address's holds `auth_failures_per_minute` failed keys. A batch larger than
a whole minute's allowance is let through when the bucket is full and leaves it in debt, so no
request is refused forever and the next ones wait for it.

A user's bucket is two columns of the `hub_users` row every write locks first: it is read by
that same statement and written back by the statement that saves the row's counters, so the
rate costs no query of its own and is exact, and a write rolled back spends nothing. A failed
key is one upsert on `hub_auth_failures`; a right key one read of its address's row.

Storage quotas (bytes, live memories) are checked inside the write's own transaction, after the
write and before the commit: a write that takes the user past one is rolled back whole, so
"nothing stored" holds for every path (REST, import, push). Counters for /metrics are counts by
kind only: no user, no key, no address.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from memory_core.clock import Clock
from memory_core.errors import AuthThrottled, QuotaExceeded, RateLimited

# The refusals this process remembers to turn a retry away before its body is read (`admit`)
# are dropped past this many, so a stream of users cannot grow the table without bound.
PRUNE_AT = 10_000
QUOTA_RETRY_S = 60  # a storage quota frees up only by deleting: a pace for clients, not a promise
MINUTE_MS = 60_000
# The most stale failed-key rows one new address's failure deletes (a full bucket is no row).
PRUNE_BATCH = 1000

# Kept by triggers in the write's own transaction (memory_hub/migrations.py, step 8).
USAGE = "SELECT live_memories AS n, op_bytes AS bytes FROM hub_users WHERE user_id = $1"

_AUTH_BUCKET = "SELECT tokens, stamp_ms FROM hub_auth_failures WHERE address = $1"
# $2 the bucket's capacity, $3 now (ms). One statement counts a failure, or, when the address
# has none left, says so without counting it: two instances cannot both spend the last one.
_REFILLED = "least($2, f.tokens + greatest(0, $3 - f.stamp_ms) * $2 / 60000.0::float8)"
_AUTH_FAILED = f"""
INSERT INTO hub_auth_failures AS f (address, tokens, stamp_ms, spent)
VALUES ($1, $2::float8 - 1, $3, true)
ON CONFLICT (address) DO UPDATE SET
    tokens = {_REFILLED} - CASE WHEN {_REFILLED} >= 1 THEN 1 ELSE 0 END,
    spent = {_REFILLED} >= 1,
    stamp_ms = greatest(f.stamp_ms, $3)
RETURNING tokens, spent, xmax = 0 AS inserted
"""
# A row a minute old is a full bucket (tokens never go below 0): the same as no row. Rows
# another transaction holds are skipped, so this never waits on, or deadlocks with, anyone.
_AUTH_PRUNE = """
DELETE FROM hub_auth_failures WHERE address IN (
    SELECT address FROM hub_auth_failures WHERE stamp_ms < $1
    ORDER BY stamp_ms LIMIT $2 FOR UPDATE SKIP LOCKED)
"""


@dataclass(frozen=True)
class Quotas:
    """The defaults are HubSettings' (docs/hub.md); 0 turns a limit off."""

    ops_per_minute: int = 20_000
    max_bytes: int = 1 << 30
    max_memories: int = 1_000_000
    auth_failures_per_minute: int = 30
    # How long a push refused for the rate waits before its 429 (see Limits.refusals_delayed).
    refusal_delay_s: float = 1.0


@dataclass(frozen=True)
class Usage:
    memories: int
    bytes: int


@dataclass
class Bucket:
    """A token bucket as stored: `tokens` at `stamp_ms`; None is a full bucket."""

    tokens: float | None = None
    stamp_ms: int | None = None

    def refilled(self, capacity: int, now_ms: int) -> float:
        if self.tokens is None or self.stamp_ms is None:
            return float(capacity)
        elapsed = max(0, now_ms - self.stamp_ms)
        return min(float(capacity), self.tokens + elapsed * capacity / MINUTE_MS)

    def spend(self, tokens: float, count: int, now_ms: int) -> None:
        self.tokens = tokens - count
        self.stamp_ms = now_ms if self.stamp_ms is None else max(self.stamp_ms, now_ms)


def wait_s(tokens: float, capacity: int, wanted: float) -> int:
    """Whole seconds until `wanted` tokens are there (0: they are)."""
    missing = min(wanted, capacity) - tokens
    return 0 if missing <= 0 else math.ceil(missing * 60 / capacity)


class Limits:
    def __init__(self, quotas: Quotas, clock: Clock, pool: asyncpg.Pool) -> None:
        self.quotas = quotas
        self._clock = clock
        self._pool = pool
        # Users this process refused for the rate, as their bucket was then (see `admit`).
        self._refusals: dict[str, Bucket] = {}
        self.refused: dict[str, int] = defaultdict(int)
        self.auth_failures = 0

    # ----------------------------------------------------------------------- ops per minute

    async def admit(self, user: str) -> None:
        """Refuse a user this process refused lately, and who has no op back yet, before
        reading the body: a client retrying a 429 at once then costs the hub almost nothing (a
        push's parsing is its dearest part). Only a hint: a bucket only fills with time (other
        instances can only have spent more since), so it never refuses what `spend_ops` would
        allow; what it lets through, `spend_ops` decides exactly."""
        capacity = self.quotas.ops_per_minute
        seen = self._refusals.get(user)
        if capacity <= 0 or seen is None:
            return
        wait = wait_s(seen.refilled(capacity, self._clock.now_ms()), capacity, 1)
        if not wait:
            del self._refusals[user]
            return
        async with self.refusals_delayed():
            self._refuse_rate(wait)

    @asynccontextmanager
    async def refusals_delayed(self) -> AsyncIterator[None]:
        """Around a push: its refusal for the rate answered after `refusal_delay_s` (outside
        its transaction, which has rolled back). Waiting costs the hub nothing, and a client
        that ignores Retry-After and pushes again at once is held to about one refusal per
        delay and connection, instead of a loop whose pages the hub reads and parses with the
        CPU other users' requests need (bench/hub_fairness.py --hostile). A client that waits
        Retry-After, as memoryd does, loses nothing."""
        try:
            yield
        except RateLimited as exc:
            if type(exc) is RateLimited and self.quotas.refusal_delay_s > 0:
                await asyncio.sleep(self.quotas.refusal_delay_s)
            raise

    def spend_ops(self, user: str, bucket: Bucket, count: int) -> None:
        """Spend `count` of the user's ops from `bucket`, the user's row as the write's
        transaction locked it (saved back with the row), or refuse with nothing spent."""
        capacity = self.quotas.ops_per_minute
        if capacity <= 0 or count <= 0:
            return
        now = self._clock.now_ms()
        tokens = bucket.refilled(capacity, now)
        wait = wait_s(tokens, capacity, count)
        if wait:
            if len(self._refusals) >= PRUNE_AT:
                self._refusals.clear()  # a hint only: forgetting costs a parse, not a limit
            self._refusals[user] = Bucket(tokens, now)
            self._refuse_rate(wait)
        self._refusals.pop(user, None)
        bucket.spend(tokens, count, now)

    def _refuse_rate(self, wait: int) -> None:
        self.refused["ops_rate"] += 1
        raise RateLimited(
            f"more than {self.quotas.ops_per_minute} writes a minute; try again in {wait} s",
            retry_after_s=wait,
        )

    # -------------------------------------------------------------------------- storage

    @asynccontextmanager
    async def storage(
        self, conn: asyncpg.Connection, user: str, only_deletes: bool
    ) -> AsyncIterator[None]:
        """Around a write in `conn`'s transaction (the user's row locked): refuse it, so the
        transaction rolls back, if it leaves the user over a quota. Deletes always pass, so a
        user over a lowered quota can make room. One measure, after the write: the user's two
        counters, which triggers keep exact across hub processes."""
        if only_deletes or (self.quotas.max_bytes <= 0 and self.quotas.max_memories <= 0):
            yield
            return
        yield
        after = await usage(conn, user)
        checks = (
            ("memories", self.quotas.max_memories, after.memories, "memories"),
            ("bytes", self.quotas.max_bytes, after.bytes, "bytes stored"),
        )
        for kind, limit, now, what in checks:
            if 0 < limit < now:
                self.refused[kind] += 1
                raise QuotaExceeded(
                    f"this write would pass the quota of {limit} {what} per user; nothing "
                    "was stored. Delete some first.",
                    retry_after_s=QUOTA_RETRY_S,
                )

    # ---------------------------------------------------------------------- failed keys

    async def check_address(self, address: str) -> None:
        """Refuse a right key from an address that used up its failures: a right key answering
        differently from a wrong one would keep the guessing going."""
        capacity = self.quotas.auth_failures_per_minute
        if capacity <= 0:
            return
        row = await self._pool.fetchrow(_AUTH_BUCKET, address)
        if row is not None:
            tokens = Bucket(row["tokens"], row["stamp_ms"]).refilled(capacity, self._now())
            self._throttle_if_empty(tokens)

    async def auth_failed(self, address: str) -> None:
        """Count a missing or wrong key against its address, or refuse it (429) when the
        address has no failure left (then it is not counted, and was not compared to tell)."""
        capacity = self.quotas.auth_failures_per_minute
        if capacity <= 0:
            self.auth_failures += 1
            return
        now = self._now()
        row = await self._pool.fetchrow(_AUTH_FAILED, address, capacity, now)
        assert row is not None
        if not row["spent"]:
            self._throttle_if_empty(row["tokens"])
        self.auth_failures += 1
        if row["inserted"]:  # a new address: time to forget the ones a minute quiet
            await self._pool.execute(_AUTH_PRUNE, now - MINUTE_MS, PRUNE_BATCH)

    def _throttle_if_empty(self, tokens: float) -> None:
        wait = wait_s(tokens, self.quotas.auth_failures_per_minute, 1)
        if wait:
            self.refused["auth"] += 1
            raise AuthThrottled(
                f"too many failed keys from this address; try again in {wait} s",
                retry_after_s=wait,
            )

    def _now(self) -> int:
        return self._clock.now_ms()

    # ---------------------------------------------------------------------------- shared

    def render(self) -> str:
        lines = [
            "# HELP memory_hub_limited_total Requests refused by a limit, by limit.",
            "# TYPE memory_hub_limited_total counter",
        ]
        for kind in ("auth", "bytes", "memories", "ops_rate"):
            lines.append(f'memory_hub_limited_total{{limit="{kind}"}} {self.refused[kind]}')
        lines += [
            "# HELP memory_hub_auth_failures_total Requests with a missing or unknown key.",
            "# TYPE memory_hub_auth_failures_total counter",
            f"memory_hub_auth_failures_total {self.auth_failures}",
        ]
        return "\n".join(lines) + "\n"


async def usage(conn: asyncpg.Connection, user: str) -> Usage:
    row = await conn.fetchrow(USAGE, user)
    assert row is not None
    return Usage(memories=int(row["n"]), bytes=int(row["bytes"]))
