"""The app factory. The lifespan owns every resource: it opens the store and the subsystems
around it, yields them as one typed `Components`, and closes them after the last in-flight
request has finished. Each subsystem declares its endpoints and its part of the lifespan in its
own `component.py`; this module puts them together."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware

from memory_core.clock import Clock, SystemClock
from memory_core.config import Settings
from memory_core.crypto.keys import load_key
from memory_core.http.errors import exception_handlers
from memory_core.http.openapi import openapi_route
from memory_core.http.routing import Endpoint, routes
from memory_core.version import __version__
from memoryd.api import routes as memory_routes
from memoryd.api import routes_admin, routes_automem, routes_curation, routes_links
from memoryd.api.components import Components
from memoryd.curation import curation_parts
from memoryd.daily_stats import TimingMiddleware
from memoryd.key_fit import at_rest_cipher
from memoryd.learn import component as learn
from memoryd.remote.component import http_only
from memoryd.semantic import component as semantic
from memoryd.sharing import component as sharing
from memoryd.sharing.forward import forwarder
from memoryd.store.db import Database
from memoryd.store.memories import MemoryStore
from memoryd.sync import component as sync
from memoryd.viewer_component import VIEWER_ENDPOINTS, viewer_owned

ENDPOINTS = (
    # Sharing's literal paths (share-tag, shared-with-me, ...) before /api/memories/{id}.
    *sharing.ENDPOINTS,
    *memory_routes.ENDPOINTS,
    *routes_links.ENDPOINTS,
    *routes_admin.ENDPOINTS,
    *routes_automem.ENDPOINTS,
    *learn.ENDPOINTS,
    *sync.ENDPOINTS,
    *semantic.ENDPOINTS,
    *VIEWER_ENDPOINTS,
    *routes_curation.ENDPOINTS,
)

# Starlette tries the routes in the table's order, and the prompt hook's was the 25th (13 us of
# regex matching a request). The hottest go first: no route before them matched their paths
# (a request reaches the first route matching its path and method), so none is answered
# differently (tests/daemon/test_route_order.py). The OpenAPI document keeps the table's order.
HOT_PATHS = ("/api/hooks/prompt", "/api/memories/recall")


def hot_first(endpoints: Sequence[Endpoint]) -> list[Endpoint]:
    return sorted(endpoints, key=lambda entry: entry.path not in HOT_PATHS)  # stable


@contextlib.asynccontextmanager
async def local_components(
    settings: Settings,
    clock: Clock,
    hub_transport: httpx.AsyncBaseTransport | None = None,
    integrity_checked: bool = False,
) -> AsyncIterator[Components]:
    """Local and hybrid mode: the database, the store, and every subsystem around it. The
    store's observers (sync's outbox, the semantic leg) exist before it and are given to it.
    `integrity_checked`: see `Database.open`."""
    key = load_key(
        settings.encryption_key.get_secret_value() if settings.encryption_key else None,
        settings.key_file,
    )
    db = Database(settings.db_path)
    await db.open(integrity_checked=integrity_checked, check_later_from=settings.check_later_bytes)
    db.start_later_check()  # a large file: checked now, beside serving
    db.segments.start()  # the full-text index merged when quiet (store/fts_segments.py)
    try:
        sync_setup = await sync.prepare_sync(db, settings, clock, hub_transport)
        async with semantic.semantic_leg(
            db,
            settings.semantic,
            settings.cache_dir,
            settings.embed_model,
            settings.semantic_approx_min,
            settings.semantic_static_query,
        ) as leg:
            store = MemoryStore(
                db,
                at_rest_cipher(settings.db_path, key),
                clock,
                settings.max_content_chars,
                on_change=sync_setup.outbox,
                semantic=semantic.running(leg),
            )
            await store.load_clock()
            async with (
                sync_setup.running(store) as sync_service,
                curation_parts(store, clock) as curation,
                learn.hooks_and_learning(store, clock, settings.home, curation) as (
                    hooks,
                    learning,
                ),
            ):
                yield Components(
                    settings, store, sync_service, hooks, learning, leg, curation=curation
                )
    finally:
        await db.close()


def create_app(
    settings: Settings,
    clock: Clock | None = None,
    hub_transport: httpx.AsyncBaseTransport | None = None,
    integrity_checked: bool = False,
) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Components]]:
        # The state handlers read as `request.state.components` (memoryd.api.components).
        the_clock = clock or SystemClock()
        # Sharing forwards to the hub in every mode (memoryd.sharing); the viewer is
        # started on demand; both are components, and close with the lifespan.
        async with forwarder(settings, hub_transport) as sharing:
            if settings.mode == "http":  # the hub is the store: no database, no key file
                async with (
                    http_only(settings, hub_transport) as found,
                    viewer_owned(dataclasses.replace(found, sharing=sharing), the_clock) as ready,
                ):
                    yield {"components": ready}
                return
            async with (
                local_components(settings, the_clock, hub_transport, integrity_checked) as found,
                viewer_owned(dataclasses.replace(found, sharing=sharing), the_clock) as ready,
            ):
                yield {"components": ready}

    return Starlette(
        routes=[*routes(hot_first(ENDPOINTS)), openapi_route(ENDPOINTS, "memoryd", __version__)],
        middleware=[Middleware(TimingMiddleware)],
        lifespan=lifespan,
        exception_handlers=exception_handlers("daemon"),
    )
