"""The hub as tests run it: two users and their keys, its settings and a `memory-hub`
process's environment for a database, and the real app in process (memory_hub's app factory,
lifespan and asyncpg pool) behind httpx ASGI clients, one per user, with the pool at hand to read
the hub's tables directly. The fixtures are in tests/conftest.py: `hub_dsn` (a fresh database),
`hub_server` (a `memory-hub serve` process, tests.support.HubServer); tests/hub/conftest.py has
`hub`, the app in process."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg
import httpx
from starlette.applications import Starlette

from memory_core.clock import Clock
from memory_hub.app import create_app
from memory_hub.config import HubSettings
from memory_hub.migrations import SHARE_TABLES, STATE_TABLES, USER_TABLES

KEYS = {
    "alice": "alice-key-0123456789",
    "bob": "bob-key-0123456789",
    "carol": "carol-key-0123456789",  # sharing: the user nobody shares with
}
ENCRYPTION_KEY = "a" * 64  # the hub's own sealing key for sensitive REST memories

ClockT = TypeVar("ClockT", bound=Clock)


def hub_settings(dsn: str, **overrides: Any) -> HubSettings:
    values: dict[str, Any] = {
        "database_url": dsn,
        "keys": dict(KEYS),
        "encryption_key": ENCRYPTION_KEY,
        "pool_min": 1,
        "pool_max": 20,
    }
    values.update(overrides)
    return HubSettings(**values)


def hub_env(dsn: str, **extra: str) -> dict[str, str]:
    """The environment of a `memory-hub` process over `dsn`: this one's, without its own
    memory or hub settings, and the same users, keys and sealing key as `hub_settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_", "HUB_"))}
    env.update(
        DATABASE_URL=dsn, API_KEYS=json.dumps(KEYS), MEMORY_ENCRYPTION_KEY=ENCRYPTION_KEY, **extra
    )
    return env


@dataclass
class HubHarness(Generic[ClockT]):
    """The app with its lifespan entered, and the clock it was given."""

    app: Starlette
    settings: HubSettings
    clock: ClockT
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def client(self, user: str | None = None, key: str | None = None) -> httpx.AsyncClient:
        """A client authenticated as `user` (or with a raw `key`, or with none)."""
        name = f"{user}:{key}"
        if name not in self.clients:
            headers = {}
            token = key if key is not None else (KEYS[user] if user else None)
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            self.clients[name] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.app, raise_app_exceptions=False),
                base_url="http://hub",
                headers=headers,
                timeout=30,
            )
        return self.clients[name]

    @property
    def pool(self) -> asyncpg.Pool:
        pool: asyncpg.Pool = self.app.state.hub.pool
        return pool

    async def head(self, user: str = "alice") -> int:
        value = await self.pool.fetchval("SELECT next_seq FROM hub_users WHERE user_id = $1", user)
        return int(value or 0)

    async def ops(self, user: str = "alice") -> list[dict[str, Any]]:
        """The user's op log as stored (the test connects as a superuser, which row-level
        security does not bind)."""
        rows = await self.pool.fetch(
            "SELECT seq, op_id::text AS op_id, entity_id, kind, fields, sealed, key_id "
            "FROM ops WHERE user_id = $1 ORDER BY seq",
            user,
        )
        return [dict(r) for r in rows]

    async def reset(self) -> None:
        """Empty every user table: a fresh hub (same replica id). DELETE, not TRUNCATE: on
        tables this small it takes ~1 ms where TRUNCATE's new files take 15-60 ms."""
        async with self.pool.acquire() as conn, conn.transaction():
            for table in (*SHARE_TABLES, *USER_TABLES, *STATE_TABLES):
                await conn.execute(f"DELETE FROM {table}")


@asynccontextmanager
async def running_hub(
    dsn: str, clock: ClockT, **overrides: Any
) -> AsyncIterator[HubHarness[ClockT]]:
    """The app over `dsn` (its lifespan migrates the database), entered in the current event
    loop, which its pool is bound to; `overrides` change `hub_settings`."""
    settings = hub_settings(dsn, **overrides)
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        harness = HubHarness(app=app, settings=settings, clock=clock)
        try:
            yield harness
        finally:
            for client in harness.clients.values():
                await client.aclose()


@asynccontextmanager
async def ordinary_role(
    dsn: str, role: str, privileges: str = "SELECT"
) -> AsyncIterator[asyncpg.Connection]:
    """A connection as a new ordinary role with `privileges` on every table: row-level
    security binds it, as it does not bind the tests' superuser."""
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN")
        await admin.execute(f"GRANT {privileges} ON ALL TABLES IN SCHEMA public TO {role}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(dsn, user=role)
    try:
        yield conn
    finally:
        await conn.close()
