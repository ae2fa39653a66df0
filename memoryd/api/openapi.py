"""GET /openapi.json: the API described from the same wire models the handlers use."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from memory_core.version import __version__
from memory_core.wire import rest

_ENDPOINTS: list[tuple[str, str, str, type[BaseModel] | None, type[BaseModel] | None]] = [
    ("/health", "get", "Daemon health, version, protocol and memory count", None, rest.HealthOut),
    ("/api/memories", "post", "Store a memory (deduplicated)", rest.MemoryIn, rest.StoredOut),
    ("/api/memories", "get", "List memories, newest first", None, rest.ListOut),
    ("/api/memories/recall", "post", "Search memories by relevance", rest.RecallIn, rest.RecallOut),
    (
        "/api/memories/import",
        "post",
        "Import a JSON array (or an original database)",
        None,
        rest.ImportOut,
    ),
    ("/api/memories/export", "get", "Export as JSON lines", None, None),
    ("/api/memories/{id}", "get", "One memory", None, rest.MemoryOut),
    ("/api/memories/{id}", "put", "Update some fields", rest.MemoryPatch, rest.UpdatedOut),
    ("/api/memories/{id}", "delete", "Delete (tombstone) a memory", None, rest.DeletedOut),
    (
        "/api/memories/{id}/secret",
        "post",
        "Decrypted content of a sensitive memory",
        None,
        rest.SecretOut,
    ),
    ("/api/stats", "get", "Counts by category, project and source", None, None),
]

_QUERY = {
    ("/api/memories", "get"): ["category", "tag", "project", "limit", "offset"],
    ("/api/memories/export", "get"): ["include_sensitive"],
}


def _ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        schemas[name] = sub
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _summary(endpoint: Any) -> str:
    doc = (getattr(endpoint, "__doc__", None) or "").strip()
    return doc.splitlines()[0].rstrip(".") if doc else endpoint.__name__.replace("_", " ")


def build_spec(routes: Sequence[BaseRoute] | None = None) -> dict[str, Any]:
    """Every route the app serves, with the wire models where this module knows them: a route
    added elsewhere is described (from its handler's docstring) without being listed here."""
    known = {
        (path, method): (summary, req, resp) for path, method, summary, req, resp in _ENDPOINTS
    }
    served: list[tuple[str, str, Any]] = [(p, m, None) for p, m, *_ in _ENDPOINTS]
    if routes is not None:
        served = [
            (route.path, method.lower(), route.endpoint)
            for route in routes
            if isinstance(route, Route) and route.path != "/openapi.json"
            for method in sorted(route.methods or ())
            if method != "HEAD"
        ]
    schemas: dict[str, Any] = {}
    error = {"content": {"application/json": {"schema": _ref(rest.ErrorOut, schemas)}}}
    paths: dict[str, Any] = {}
    for path, method, endpoint in served:
        summary, request, response = known.get((path, method), (_summary(endpoint), None, None))
        op: dict[str, Any] = {"summary": summary, "responses": {}}
        ok: dict[str, Any] = {"description": "OK"}
        if response is not None:
            ok["content"] = {"application/json": {"schema": _ref(response, schemas)}}
        op["responses"]["201" if method == "post" and path == "/api/memories" else "200"] = ok
        for status in ("400", "404", "409", "413", "422"):
            op["responses"][status] = {"description": "Error", **error}
        if request is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _ref(request, schemas)}},
            }
        params = [
            {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
            for n in _QUERY.get((path, method), [])
        ]
        params += [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", path)
        ]
        if params:
            op["parameters"] = params
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "memoryd", "version": __version__},
        "paths": paths,
        "components": {"schemas": schemas},
    }


async def openapi(request: Request) -> Response:
    return JSONResponse(build_spec(request.app.routes))
