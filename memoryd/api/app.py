"""The app factory. The lifespan owns every resource: it opens the store, and closes it after
the last in-flight request has finished."""

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
from memoryd.api import routes_admin, routes_hooks, routes_sync
from memoryd.api.routes import ENDPOINTS as MEMORY_ENDPOINTS
from memoryd.api.services import Services
from memoryd.learn.runtime import hook_runtime
from memoryd.remote.runtime import remote_runtime
from memoryd.semantic.routes import ENDPOINTS as SEMANTIC_ENDPOINTS
from memoryd.semantic.runtime import semantic_runtime
from memoryd.store.db import Database
from memoryd.store.memories import MemoryStore
from memoryd.sync.runtime import sync_runtime


def create_app(
    settings: Settings,
    clock: Clock | None = None,
    hub_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.mode == "http":  # the hub is the store: no database, no key file
            async with remote_runtime(settings, hub_transport) as (remote, extras):
                app.state.services = Services(settings=settings, store=remote, extras=extras)
                yield
            return
        key = load_key(
            settings.encryption_key.get_secret_value() if settings.encryption_key else None,
            settings.key_file,
        )
        db = Database(settings.db_path)
        await db.open()
        try:
            store = MemoryStore(db, Cipher(key), clock or SystemClock(), settings.max_content_chars)
            await store.load_clock()
            app.state.services = Services(settings=settings, store=store)
            async with (
                sync_runtime(store, settings, clock or SystemClock()) as sync_extras,
                hook_runtime(store, clock or SystemClock(), settings.home) as hook_extras,
                semantic_runtime(store, settings.semantic, settings.cache_dir) as semantic_extras,
            ):
                app.state.services.extras.update(sync_extras)
                app.state.services.extras.update(hook_extras)
                app.state.services.extras.update(semantic_extras)
                yield
        finally:
            await db.close()

    endpoints = (
        *MEMORY_ENDPOINTS,
        *routes_admin.ENDPOINTS,
        *routes_hooks.ENDPOINTS,
        *routes_sync.ENDPOINTS,
        *SEMANTIC_ENDPOINTS,
    )
    return Starlette(
        routes=[*routes(endpoints), openapi_route(endpoints, "memoryd", __version__)],
        lifespan=lifespan,
        exception_handlers=exception_handlers("daemon"),
    )
