"""The daemon's routes, hottest first (memoryd.api.app.hot_first): every request still reaches
the route the endpoint table's order gives it."""

from __future__ import annotations

import re

from starlette.routing import Match, Route

from memory_core.http.routing import routes
from memoryd.api.app import ENDPOINTS, HOT_PATHS, hot_first

METHODS = ("GET", "POST", "PUT", "DELETE")


def _chosen(table: list[Route], method: str, path: str) -> str | None:
    """What Starlette's router does: the first route matching path and method, else the first
    matching the path alone (a 405), else none (a 404)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    partial = None
    for route in table:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route.name + " " + ",".join(sorted(route.methods or ()))
        if match is Match.PARTIAL and partial is None:
            partial = "405 from " + route.name
    return partial


def test_every_request_reaches_the_same_route_with_the_hot_ones_first() -> None:
    table, hot = routes(ENDPOINTS), routes(hot_first(ENDPOINTS))
    assert {r.path for r in hot[: len(HOT_PATHS)]} == set(HOT_PATHS)
    # Every path of the table with its parameters as literal words of other paths, so that
    # a parameter route could swallow a literal path if the order let it.
    words = {part for e in ENDPOINTS for part in e.path.split("/") if part and "{" not in part}
    paths = {e.path for e in ENDPOINTS}
    for endpoint in ENDPOINTS:
        for word in (*words, "0f8fad5b-d9cb-469f-a165-70867728950e"):
            paths.add(re.sub(r"\{[^}]+\}", word, endpoint.path))
    for path in sorted(paths):
        for method in METHODS:
            assert _chosen(hot, method, path) == _chosen(table, method, path), (method, path)
