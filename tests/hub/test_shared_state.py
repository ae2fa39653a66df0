"""What hub instances share through PostgreSQL instead of keeping in their process (docs/hub.md
"Several instances"): viewer sessions, a user's ops-per-minute bucket and an address's failed
keys. Two apps in process on one real database and one fake clock; tests/sync/test_two_hubs.py
does the same with two `memory-hub serve` processes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx

from memory_core.ids import uuid7
from memory_hub.limits import Quotas
from tests.conftest import FakeClock
from tests.hub.ops import put, replica
from tests.hubs import KEYS, HubHarness, running_hub

ORIGIN = "http://hub.example"
OFF = Quotas(
    ops_per_minute=0, max_bytes=0, max_memories=0, auth_failures_per_minute=0, refusal_delay_s=0
)


@asynccontextmanager
async def two_hubs(
    dsn: str, **quotas: float
) -> AsyncIterator[tuple[HubHarness[FakeClock], HubHarness[FakeClock]]]:
    clock = FakeClock()
    limits = Quotas(**{**OFF.__dict__, **quotas})
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(running_hub(dsn, clock, quotas=limits))
        second = await stack.enter_async_context(running_hub(dsn, clock, quotas=limits))
        yield first, second


def browser(hub: HubHarness[FakeClock], cookie: str | None = None) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=hub.app),
        base_url=ORIGIN,
        cookies={"memory_hub_viewer": cookie} if cookie else None,
    )
    hub.clients[f"browser-{len(hub.clients)}"] = client
    return client


async def login(hub: HubHarness[FakeClock], user: str = "alice") -> str:
    client = browser(hub)
    answer = await client.post(
        "/ui/login", data={"api_key": KEYS[user]}, headers={"origin": ORIGIN}
    )
    assert answer.status_code == 303, answer.text
    cookie: str = client.cookies["memory_hub_viewer"]
    return cookie


async def page_status(hub: HubHarness[FakeClock], cookie: str) -> int:
    return (await browser(hub, cookie).get("/ui/")).status_code


async def test_a_session_row_holds_no_secret_and_serves_every_instance(hub_dsn: str) -> None:
    async with two_hubs(hub_dsn) as (first, second):
        cookie = await login(first)
        assert await page_status(second, cookie) == 200
        rows = await first.pool.fetch("SELECT * FROM hub_viewer_sessions")
        assert [r["user_id"] for r in rows] == ["alice"]
        stored = repr([dict(r) for r in rows])
        for secret in (cookie, KEYS["alice"], cookie.encode().hex(), KEYS["alice"].encode().hex()):
            assert secret not in stored
        # Its CSRF token, derived from the cookie's id, is the same on both instances.
        tokens = set()
        for hub in (first, second):
            page = (await browser(hub, cookie).get("/ui/")).text
            found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
            assert found is not None and found[1] != cookie
            tokens.add(found[1])
        assert len(tokens) == 1
        # Twelve hours on, it is over everywhere, and the next login deletes its row.
        first.clock.advance(12 * 3600 * 1000)
        assert await page_status(first, cookie) == 401
        assert await page_status(second, cookie) == 401
        await login(second, "bob")
        users = await first.pool.fetch("SELECT user_id FROM hub_viewer_sessions")
        assert [r["user_id"] for r in users] == ["bob"]


async def test_a_restart_keeps_a_session_and_a_new_key_ends_it(hub_dsn: str) -> None:
    clock = FakeClock()
    async with running_hub(hub_dsn, clock) as hub:
        cookie = await login(hub)
    async with running_hub(hub_dsn, clock) as hub:
        assert await page_status(hub, cookie) == 200
    rotated = {**KEYS, "alice": "alice-new-key-0123456789"}
    async with running_hub(hub_dsn, clock, keys=rotated) as hub:
        assert await page_status(hub, cookie) == 401


async def test_a_refusal_one_instance_saw_never_refuses_what_the_bucket_allows(
    hub_dsn: str,
) -> None:
    """Each instance remembers its refusals to turn an immediate retry away before reading
    it; the bucket refills while another instance spends, and the remembered refusal must
    then let the push through to the bucket, which decides."""
    async with two_hubs(hub_dsn, ops_per_minute=2) as (first, second):
        for n in range(2):
            stored = await first.client("alice").post("/api/memories", json={"content": f"{n}"})
            assert stored.status_code == 200
        rep, hlc = replica(), first.clock.ms << 16
        ops = [put(rep, 1, uuid7(), hlc, content="pushed")]
        body = {"replica_id": rep, "ops": ops}
        assert (await second.client("alice").post("/api/sync/push", json=body)).status_code == 429
        first.clock.advance(30_000)  # one op back
        assert (await second.client("alice").post("/api/sync/push", json=body)).status_code == 200
        refused = await first.client("alice").post("/api/memories", json={"content": "x"})
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "30"


async def test_failed_key_rows_are_forgotten_once_a_minute_quiet(hub_dsn: str) -> None:
    async with two_hubs(hub_dsn, auth_failures_per_minute=3) as (first, second):
        for hub, address in ((first, "203.0.113.1"), (second, "203.0.113.2")):
            transport = httpx.ASGITransport(app=hub.app, client=(address, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://hub") as guesser:
                assert (await guesser.get("/api/auth-check")).status_code == 401
            hub.clock.advance(61_000)
        rows = await first.pool.fetch("SELECT address FROM hub_auth_failures")
        assert [r["address"] for r in rows] == ["203.0.113.2"]
