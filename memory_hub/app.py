"""The hub's app factory. The lifespan owns the pool, the Vault client and the migrations."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware

from memory_core.clock import Clock, SystemClock
from memory_core.http.errors import exception_handlers
from memory_core.http.openapi import openapi_route
from memory_core.http.routing import routes
from memory_core.version import __version__
from memory_hub.auth import KeyRing
from memory_hub.config import HubSettings
from memory_hub.db import create_pool
from memory_hub.endpoints import ENDPOINTS, HUB_ERRORS
from memory_hub.limits import Limits
from memory_hub.memories import Hub
from memory_hub.metrics import Metrics, MetricsMiddleware
from memory_hub.migrations import migrate
from memory_hub.sealing import LocalSealer, NoSealer, Sealer, VaultTransitSealer
from memory_hub.viewer_sessions import HubSessions
from memory_viewer import hub_viewer


def create_app(
    settings: HubSettings,
    clock: Clock | None = None,
    vault_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    metrics = Metrics()
    the_clock = clock or SystemClock()
    viewer_sessions = HubSessions(the_clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url, settings.pool_min, settings.pool_max)
        vault = httpx.AsyncClient(timeout=10.0, transport=vault_transport)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
                replica_id = await conn.fetchval(
                    "SELECT value FROM hub_meta WHERE key = 'replica_id'"
                )
            sealer: Sealer = NoSealer()
            if settings.vault_addr and settings.vault_token:
                sealer = VaultTransitSealer(
                    vault,
                    settings.vault_addr,
                    settings.vault_token,
                    settings.vault_transit_mount,
                    settings.vault_transit_key,
                )
            elif settings.encryption_key:
                sealer = LocalSealer(settings.encryption_key)
            app.state.settings = settings
            limits = Limits(settings.quotas, the_clock, pool)
            app.state.limits = limits
            keys = app.state.keys = KeyRing(settings.keys, limits)
            viewer_sessions.attach(pool, keys)
            app.state.metrics = metrics
            app.state.hub = Hub(
                pool=pool,
                sealer=sealer,
                clock=the_clock,
                replica_id=str(replica_id),
                max_content_chars=settings.max_content_chars,
                limits=limits,
            )
            yield
        finally:
            await vault.aclose()
            await pool.close()

    app = Starlette(
        # The table's routes, and GET /openapi.json: its document.
        routes=[
            *routes(ENDPOINTS),
            openapi_route(ENDPOINTS, "memory-hub", __version__, errors=HUB_ERRORS),
        ],
        lifespan=lifespan,
        exception_handlers=exception_handlers("hub", metrics.count_error),
        middleware=[Middleware(MetricsMiddleware, metrics=metrics)],
    )
    # The memory viewer (docs/viewer.md): pages behind a login with the user's API key, calling
    # this app's own REST API in process, so every read and write is scoped as the API scopes it.
    # Its sessions are in the database: any instance serves any of them (docs/hub.md).
    app.mount("/ui", hub_viewer(httpx.ASGITransport(app=app), viewer_sessions, the_clock))
    return app
