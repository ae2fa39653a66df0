"""The app factory. The lifespan owns every resource: it opens the store, and closes it after
the last in-flight request has finished."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from memory_core.clock import Clock, SystemClock
from memory_core.config import Settings
from memory_core.crypto.aead import Cipher
from memory_core.crypto.keys import load_key
from memory_core.http.errors import exception_handlers
from memoryd.api.openapi import openapi
from memoryd.api.routes import ROUTES
from memoryd.api.routes_admin import ADMIN_ROUTES
from memoryd.api.routes_hooks import HOOK_ROUTES
from memoryd.api.routes_sync import SYNC_ROUTES
from memoryd.api.services import Services
from memoryd.learn.runtime import hook_runtime
from memoryd.remote.runtime import remote_runtime
from memoryd.semantic.routes import SEMANTIC_ROUTES
from memoryd.semantic.runtime import semantic_runtime
from memoryd.store.db import Database
from memoryd.store.memories import MemoryStore
from memoryd.sync.runtime import sync_runtime
from memoryd.viewer_component import VIEWER_ROUTES


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

    routes = [
        *ROUTES,
        *ADMIN_ROUTES,
        *HOOK_ROUTES,
        *SYNC_ROUTES,
        *SEMANTIC_ROUTES,
        *VIEWER_ROUTES,
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    return Starlette(
        routes=routes, lifespan=lifespan, exception_handlers=exception_handlers("daemon")
    )
