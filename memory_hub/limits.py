"""Per-user quotas and the throttle on failed keys, kept by one `Limits` the app factory makes.

Rates are token buckets on the injected clock: a user's bucket holds `ops_per_minute` ops and
refills at that rate, a client address's holds `auth_failures_per_minute` failed keys. A batch
larger than a whole minute's allowance is let through when the bucket is full and leaves it in
debt, so no request is refused forever and the next ones wait for it.

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

# Full buckets are the same as absent ones; past this many entries they are dropped, so a
# stream of new client addresses cannot grow the table without bound.
PRUNE_AT = 10_000
QUOTA_RETRY_S = 60  # a storage quota frees up only by deleting: a pace for clients, not a promise

# Kept by triggers in the write's own transaction (memory_hub/migrations.py, step 8).
USAGE = "SELECT live_memories AS n, op_bytes AS bytes FROM hub_users WHERE user_id = $1"


@dataclass(frozen=True)
class Quotas:
    """The defaults are HubSettings' (docs/hub.md); 0 turns a limit off."""

    ops_per_minute: int = 20_000
    max_bytes: int = 1 << 30
    max_memories: int = 1_000_000
    auth_failures_per_minute: int = 30
    # How long a push refused for the rate waits before its 429 (see Limits.admit).
    refusal_delay_s: float = 1.0


@dataclass(frozen=True)
class Usage:
    memories: int
    bytes: int


class _Bucket:
    def __init__(self, capacity: int, now_ms: int) -> None:
        self.capacity = float(capacity)
        self.tokens = float(capacity)
        self.stamp = now_ms

    def refill(self, now_ms: int) -> None:
        elapsed = max(0, now_ms - self.stamp)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.capacity / 60_000)
        self.stamp = max(self.stamp, now_ms)

    def wait_s(self, wanted: float) -> int:
        """Whole seconds until `wanted` tokens are there (0: they are)."""
        missing = min(wanted, self.capacity) - self.tokens
        return 0 if missing <= 0 else math.ceil(missing * 60 / self.capacity)

    @property
    def full(self) -> bool:
        return self.tokens >= self.capacity


class Limits:
    def __init__(self, quotas: Quotas, clock: Clock) -> None:
        self.quotas = quotas
        self._clock = clock
        self._ops: dict[str, _Bucket] = {}
        self._auth: dict[str, _Bucket] = {}
        self.refused: dict[str, int] = defaultdict(int)
        self.auth_failures = 0

    # ----------------------------------------------------------------------- ops per minute

    async def admit(self, user: str) -> None:
        """Refuse a user with no op left before reading the body: a client retrying a 429 at
        once then costs the hub almost nothing (a push's parsing is its dearest part)."""
        await self.charge_ops_or_wait(user, 1, spend=False)

    async def charge_ops_or_wait(self, user: str, count: int, spend: bool = True) -> None:
        """`charge_ops`, with its refusal answered after `refusal_delay_s`. Waiting costs the
        hub nothing, and a client that ignores Retry-After and pushes again at once is held to
        about one refusal per delay and connection, instead of a loop whose pages the hub reads
        and parses with the CPU other users' requests need (bench/hub_fairness.py --hostile).
        A client that waits Retry-After, as memoryd does, loses nothing."""
        try:
            self.charge_ops(user, count, spend)
        except RateLimited:
            if self.quotas.refusal_delay_s > 0:
                await asyncio.sleep(self.quotas.refusal_delay_s)
            raise

    def charge_ops(self, user: str, count: int, spend: bool = True) -> None:
        """Spend `count` of the user's ops, or refuse the request with nothing spent."""
        if self.quotas.ops_per_minute <= 0 or count <= 0:
            return
        bucket = self._bucket(self._ops, user, self.quotas.ops_per_minute)
        wait = bucket.wait_s(count)
        if wait:
            self.refused["ops_rate"] += 1
            raise RateLimited(
                f"more than {self.quotas.ops_per_minute} writes a minute; try again in {wait} s",
                retry_after_s=wait,
            )
        if spend:
            bucket.tokens -= count

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

    def check_address(self, address: str) -> None:
        """Refuse any key from an address that used up its failures, right or wrong: a right
        key answering differently would keep the guessing going."""
        if self.quotas.auth_failures_per_minute <= 0:
            return
        bucket = self._auth.get(address)
        if bucket is None:
            return
        bucket.refill(self._clock.now_ms())
        wait = bucket.wait_s(1)
        if wait:
            self.refused["auth"] += 1
            raise AuthThrottled(
                f"too many failed keys from this address; try again in {wait} s",
                retry_after_s=wait,
            )

    def auth_failed(self, address: str) -> None:
        self.auth_failures += 1
        if self.quotas.auth_failures_per_minute <= 0:
            return
        bucket = self._bucket(self._auth, address, self.quotas.auth_failures_per_minute)
        bucket.tokens -= 1

    # ---------------------------------------------------------------------------- shared

    def _bucket(self, table: dict[str, _Bucket], key: str, capacity: int) -> _Bucket:
        now = self._clock.now_ms()
        bucket = table.get(key)
        if bucket is None:
            if len(table) >= PRUNE_AT:
                for old in list(table.values()):
                    old.refill(now)
                for stale in [k for k, b in table.items() if b.full]:
                    del table[stale]
            bucket = table[key] = _Bucket(capacity, now)
        bucket.refill(now)
        return bucket

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
