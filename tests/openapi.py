"""An app's routes as Starlette serves them and as its OpenAPI document lists them, for the
tests that the two agree (the daemon's and the hub's)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route


def served_routes(app: Starlette) -> set[tuple[str, str]]:
    """(path, method) of every route the app serves: HEAD (which comes with every GET), the
    document's own route and mounts left out."""
    return {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route)
        for method in (route.methods or set())
        if method != "HEAD" and route.path != "/openapi.json"
    }


def documented_routes(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, ops in spec["paths"].items() for method in ops}
