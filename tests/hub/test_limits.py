"""Per-user quotas and the failed-key throttle (memory_hub.limits), on the real hub and a real
PostgreSQL, with a fake clock: 429 with Retry-After, nothing stored, other users and other
addresses unaffected, and /metrics counting without naming anyone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager

import httpx
import pytest

from memory_core.errors import ConfigError
from memory_core.ids import uuid7
from memory_hub.config import load_settings
from memory_hub.limits import Quotas
from tests.conftest import FakeClock
from tests.hub.ops import put, replica
from tests.hubs import KEYS, HubHarness, running_hub

OFF = Quotas(
    ops_per_minute=0, max_bytes=0, max_memories=0, auth_failures_per_minute=0, refusal_delay_s=0
)


@asynccontextmanager
async def limited_hub(dsn: str, **quotas: float) -> AsyncIterator[HubHarness[FakeClock]]:
    settings = {**OFF.__dict__, **quotas}
    async with running_hub(dsn, FakeClock(), quotas=Quotas(**settings)) as harness:
        yield harness


@asynccontextmanager
async def from_address(
    hub: HubHarness[FakeClock], address: str, key: str | None
) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    transport = httpx.ASGITransport(app=hub.app, client=(address, 40000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://hub", headers=headers
    ) as client:
        yield client


async def count(hub: HubHarness[FakeClock], user: str) -> int:
    value = await hub.pool.fetchval("SELECT count(*) FROM memories WHERE user_id = $1", user)
    return int(value)


def assert_limited(response: httpx.Response, code: str) -> int:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == code
    retry = int(response.headers["Retry-After"])
    assert retry >= 1 and response.json()["error"]["retry_after"] == retry
    return retry


async def test_ops_per_minute_refuse_rest_and_push_alike_and_spare_others(hub_dsn: str) -> None:
    async with limited_hub(hub_dsn, ops_per_minute=3) as hub:
        alice, bob = hub.client("alice"), hub.client("bob")
        for i in range(3):
            assert (await alice.post("/api/memories", json={"content": f"n{i}"})).status_code == 200
        refused = await alice.post("/api/memories", json={"content": "one too many"})
        assert assert_limited(refused, "rate_limited") == 20  # one op back every 20 s
        rep = replica()
        ops = [put(rep, 1, uuid7(), hub.clock.ms << 16, content="pushed", category="facts")]
        pushed = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": ops})
        assert_limited(pushed, "rate_limited")
        assert await count(hub, "alice") == 3 and await hub.head("alice") == 3
        # Bob has his own allowance.
        assert (await bob.post("/api/memories", json={"content": "bob's"})).status_code == 200
        # After Retry-After the push goes through.
        hub.clock.advance(20_000)
        pushed = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": ops})
        assert pushed.status_code == 200, pushed.text
        assert await count(hub, "alice") == 4


async def test_a_refused_push_waits_before_its_429_while_others_are_served(hub_dsn: str) -> None:
    """A client that sends again at once after a 429 gets about one refusal per delay, not a
    loop that takes the CPU other users need (bench/hub_fairness.py --hostile)."""
    async with limited_hub(hub_dsn, ops_per_minute=4, refusal_delay_s=2.0) as hub:
        alice, bob = hub.client("alice"), hub.client("bob")
        for i in range(3):
            assert (await alice.post("/api/memories", json={"content": f"n{i}"})).status_code == 200
        rep, hlc = replica(), hub.clock.ms << 16
        page = [put(rep, 1 + i, uuid7(), hlc + i, content=f"p{i}") for i in range(3)]

        async def timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
            started = time.monotonic()
            answer = await request
            return answer, time.monotonic() - started

        # One op left: the page of three is refused once it is read, after the delay, while
        # bob's store is answered meanwhile.
        (pushed, push_s), (stored, store_s) = await asyncio.gather(
            timed(alice.post("/api/sync/push", json={"replica_id": rep, "ops": page})),
            timed(bob.post("/api/memories", json={"content": "bob's"})),
        )
        assert_limited(pushed, "rate_limited")
        assert push_s >= 2.0
        assert stored.status_code == 200 and store_s < push_s - 0.5
        # None left: refused before its body is read, after the same delay.
        assert (await alice.post("/api/memories", json={"content": "n3"})).status_code == 200
        again, again_s = await timed(
            alice.post("/api/sync/push", json={"replica_id": rep, "ops": page[:1]})
        )
        assert_limited(again, "rate_limited")
        assert again_s >= 2.0


async def test_a_push_counts_each_op(hub_dsn: str) -> None:
    async with limited_hub(hub_dsn, ops_per_minute=10) as hub:
        alice = hub.client("alice")
        rep, hlc = replica(), hub.clock.ms << 16
        ops = [put(rep, i + 1, uuid7(), hlc + i, content=f"p{i}") for i in range(8)]
        first = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": ops})
        assert first.status_code == 200, first.text
        more = [put(rep, 9 + i, uuid7(), hlc + 9 + i, content=f"q{i}") for i in range(3)]
        second = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": more})
        assert assert_limited(second, "rate_limited") == 6  # one op short: 6 s at 10 a minute
        assert await hub.head("alice") == 8


async def test_memories_quota_stores_nothing_of_a_refused_write(hub_dsn: str) -> None:
    async with limited_hub(hub_dsn, max_memories=2) as hub:
        alice, bob = hub.client("alice"), hub.client("bob")
        for i in range(2):
            assert (await alice.post("/api/memories", json={"content": f"m{i}"})).status_code == 200
        assert_limited(await alice.post("/api/memories", json={"content": "m2"}), "quota_exceeded")
        imported = await alice.post("/api/memories/import", json=[{"content": "i0"}])
        assert_limited(imported, "quota_exceeded")
        rep = replica()
        ops = [put(rep, 1, uuid7(), hub.clock.ms << 16, content="pushed")]
        pushed = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": ops})
        assert_limited(pushed, "quota_exceeded")
        assert await count(hub, "alice") == 2 and await hub.head("alice") == 2
        # An update of a memory she has, and a delete, still pass; the delete makes room.
        memory = (await alice.get("/api/memories")).json()["memories"][0]["id"]
        assert (await alice.put(f"/api/memories/{memory}", json={"content": "m0b"})).is_success
        assert (await alice.delete(f"/api/memories/{memory}")).is_success
        assert (await alice.post("/api/memories", json={"content": "m2"})).status_code == 200
        # Bob's quota is his own.
        for i in range(2):
            assert (await bob.post("/api/memories", json={"content": f"b{i}"})).status_code == 200


async def test_bytes_quota_refuses_the_write_that_passes_it(hub_dsn: str) -> None:
    async with limited_hub(hub_dsn, max_bytes=3000) as hub:
        alice, bob = hub.client("alice"), hub.client("bob")
        assert (await alice.post("/api/memories", json={"content": "x" * 1000})).status_code == 200
        assert (await alice.post("/api/memories", json={"content": "y" * 1000})).status_code == 200
        big = await alice.post("/api/memories", json={"content": "z" * 1200})
        assert_limited(big, "quota_exceeded")
        assert await count(hub, "alice") == 2 and await hub.head("alice") == 2
        assert (await bob.post("/api/memories", json={"content": "z" * 1200})).status_code == 200


async def test_failed_keys_throttle_one_address_only(hub_dsn: str) -> None:
    async with (
        limited_hub(hub_dsn, auth_failures_per_minute=3) as hub,
        from_address(hub, "203.0.113.7", "wrong-key-0123456789") as guesser,
        from_address(hub, "203.0.113.7", KEYS["alice"]) as same_place,
        from_address(hub, "198.51.100.2", KEYS["bob"]) as elsewhere,
    ):
        for _ in range(3):
            assert (await guesser.get("/api/auth-check")).status_code == 401
        retry = assert_limited(await guesser.get("/api/auth-check"), "auth_throttled")
        assert retry == 20
        # A right key from that address is refused too: the answer must not tell keys apart.
        assert_limited(await same_place.get("/api/auth-check"), "auth_throttled")
        assert (await elsewhere.get("/api/auth-check")).json()["user_id"] == "bob"
        hub.clock.advance(retry * 1000)
        assert (await same_place.get("/api/auth-check")).json()["user_id"] == "alice"


async def test_metrics_count_limits_without_naming_anyone(hub_dsn: str) -> None:
    async with (
        limited_hub(hub_dsn, ops_per_minute=1, auth_failures_per_minute=1, max_memories=5) as hub,
        from_address(hub, "203.0.113.9", "wrong-key-0123456789") as guesser,
    ):
        alice = hub.client("alice")
        await alice.post("/api/memories", json={"content": "first"})
        assert (await alice.post("/api/memories", json={"content": "x"})).status_code == 429
        await guesser.get("/api/auth-check")
        assert (await guesser.get("/api/auth-check")).status_code == 429
        text = (await hub.client().get("/metrics")).text
        assert 'memory_hub_limited_total{limit="ops_rate"} 1' in text
        assert 'memory_hub_limited_total{limit="auth"} 1' in text
        assert 'memory_hub_limited_total{limit="memories"} 0' in text
        assert "memory_hub_auth_failures_total 1" in text
        assert 'memory_hub_errors_total{code="rate_limited"} 1' in text
        for secret in [*KEYS, *KEYS.values(), "203.0.113.9", "wrong-key"]:
            assert secret not in text


def test_limits_come_from_the_environment() -> None:
    base = {"DATABASE_URL": "postgresql://h/db", "API_KEY": "single-key-1"}
    assert load_settings(base).quotas == Quotas()
    env = {
        **base,
        "HUB_USER_OPS_PER_MINUTE": "600",
        "HUB_USER_MAX_BYTES": "0",
        "HUB_USER_MAX_MEMORIES": "50",
        "HUB_AUTH_FAILURES_PER_MINUTE": "5",
    }
    assert load_settings(env).quotas == Quotas(
        ops_per_minute=600, max_bytes=0, max_memories=50, auth_failures_per_minute=5
    )
    with pytest.raises(ConfigError, match="HUB_USER_OPS_PER_MINUTE"):
        load_settings({**base, "HUB_USER_OPS_PER_MINUTE": "-1"})
