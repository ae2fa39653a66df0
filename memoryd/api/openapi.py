"""GET /openapi.json: the API described from the same wire models the handlers use."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memoryd import __version__
from memoryd.wire import rest

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


def build_spec() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    error = {"content": {"application/json": {"schema": _ref(rest.ErrorOut, schemas)}}}
    paths: dict[str, Any] = {}
    for path, method, summary, request, response in _ENDPOINTS:
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
        if "{id}" in path:
            params.append(
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
            )
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
    return JSONResponse(build_spec())
