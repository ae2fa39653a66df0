"""Fixtures for the hub: a fresh database per test in the session's PostgreSQL cluster (`pg`,
tests/conftest.py), and the real app (lifespan included) behind httpx clients, one per user."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette

from memory_hub.app import create_app
from memory_hub.config import HubSettings
from tests.conftest import FakeClock
from tests.pg import PgCluster, create_database

KEYS = {"alice": "alice-key-0123456789", "bob": "bob-key-0123456789"}
ENCRYPTION_KEY = "a" * 64
_counter = itertools.count()


@pytest.fixture
async def hub_dsn(pg: PgCluster) -> str:
    return await create_database(pg, f"hub_{os.getpid()}_{next(_counter)}")


@dataclass
class HubHarness:
    app: Starlette
    settings: HubSettings
    clock: FakeClock
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


def hub_settings(dsn: str, **overrides: object) -> HubSettings:
    values: dict[str, object] = {
        "database_url": dsn,
        "keys": dict(KEYS),
        "encryption_key": ENCRYPTION_KEY,
        "pool_min": 1,
        "pool_max": 20,
    }
    values.update(overrides)
    return HubSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def hub(hub_dsn: str) -> AsyncIterator[HubHarness]:
    clock = FakeClock(1_790_000_000_000)
    settings = hub_settings(hub_dsn)
    app = create_app(settings, clock=clock)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        harness = HubHarness(app=app, settings=settings, clock=clock)
        yield harness
        for client in harness.clients.values():
            await client.aclose()
