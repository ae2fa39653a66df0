"""The app factory. The lifespan owns every resource: it opens the store and the subsystems
around it, yields them as one typed `Components`, and closes them after the last in-flight
request has finished. Each subsystem declares its endpoints and its part of the lifespan in its
own `component.py`; this module puts them together."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette

from memory_core.clock import Clock, SystemClock
from memory_core.config import Settings
from memory_core.crypto.aead import Cipher
from memory_core.crypto.keys import load_key
from memory_core.http.errors import exception_handlers
from memory_core.http.openapi import openapi_route
from memory_core.http.routing import routes
from memory_core.version import __version__
from memoryd.api import routes as memory_routes
from memoryd.api import routes_admin, routes_automem, routes_links
from memoryd.api.components import Components
from memoryd.learn import component as learn
from memoryd.remote.component import http_only
from memoryd.semantic import component as semantic
from memoryd.store.db import Database
from memoryd.store.memories import MemoryStore
from memoryd.sync import component as sync
from memoryd.viewer_component import VIEWER_ENDPOINTS

ENDPOINTS = (
    *memory_routes.ENDPOINTS,
    *routes_links.ENDPOINTS,
    *routes_admin.ENDPOINTS,
    *routes_automem.ENDPOINTS,
    *learn.ENDPOINTS,
    *sync.ENDPOINTS,
    *semantic.ENDPOINTS,
    *VIEWER_ENDPOINTS,
)


@contextlib.asynccontextmanager
async def local_components(
    settings: Settings, clock: Clock, hub_transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[Components]:
    """Local and hybrid mode: the database, the store, and every subsystem around it. The
    store's observers (sync's outbox, the semantic leg) exist before it and are given to it."""
    key = load_key(
        settings.encryption_key.get_secret_value() if settings.encryption_key else None,
        settings.key_file,
    )
    db = Database(settings.db_path)
    await db.open()
    try:
        sync_setup = await sync.prepare_sync(db, settings, clock, hub_transport)
        async with semantic.semantic_leg(
            db, settings.semantic, settings.cache_dir, settings.embed_model
        ) as leg:
            store = MemoryStore(
                db,
                Cipher(key),
                clock,
                settings.max_content_chars,
                on_change=sync_setup.outbox,
                semantic=semantic.running(leg),
            )
            await store.load_clock()
            async with (
                sync_setup.running(store) as sync_service,
                learn.hooks_and_learning(store, clock, settings.home) as (hooks, learning),
            ):
                yield Components(settings, store, sync_service, hooks, learning, leg)
    finally:
        await db.close()


def create_app(
    settings: Settings,
    clock: Clock | None = None,
    hub_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Components]]:
        # The state handlers read as `request.state.components` (memoryd.api.components).
        if settings.mode == "http":  # the hub is the store: no database, no key file
            async with http_only(settings, hub_transport) as found:
                yield {"components": found}
            return
        async with local_components(settings, clock or SystemClock(), hub_transport) as found:
            yield {"components": found}

    return Starlette(
        routes=[*routes(ENDPOINTS), openapi_route(ENDPOINTS, "memoryd", __version__)],
        lifespan=lifespan,
        exception_handlers=exception_handlers("daemon"),
    )
