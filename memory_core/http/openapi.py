"""The OpenAPI 3.1 document of a table of endpoints (`memory_core.http.routing`): every route
the server serves, the JSON schemas of the models its handlers read and answer, and the one
error envelope (`memory_core.http.errors`) on each error status."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from memory_core.http.routing import Endpoint
from memory_core.wire.rest import ErrorOut

ERROR_STATUSES = (400, 404, 409, 413, 422)


def _ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        schemas[name] = sub
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(schema: dict[str, str]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation(entry: Endpoint, schemas: dict[str, Any], errors: Sequence[int]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in (entry.status, *entry.also):
        ok: dict[str, Any] = {"description": HTTPStatus(status).phrase}
        if entry.answer is not None and status != HTTPStatus.NO_CONTENT:
            ok["content"] = _json(_ref(entry.answer, schemas))
        responses[str(status)] = ok
    for status in errors:
        responses[str(status)] = {"description": "Error", "content": _json(_ref(ErrorOut, schemas))}
    op: dict[str, Any] = {"summary": entry.summary, "responses": responses}
    if entry.body is not None:
        op["requestBody"] = {"required": True, "content": _json(_ref(entry.body, schemas))}
    params = [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name in entry.query
    ]
    params += [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", entry.path)
    ]
    if params:
        op["parameters"] = params
    return op


def openapi_document(
    endpoints: Iterable[Endpoint],
    title: str,
    version: str,
    errors: Sequence[int] = ERROR_STATUSES,
) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for entry in endpoints:
        paths.setdefault(entry.path, {})[entry.method.lower()] = _operation(entry, schemas, errors)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def openapi_route(
    endpoints: Sequence[Endpoint],
    title: str,
    version: str,
    path: str = "/openapi.json",
    errors: Sequence[int] = ERROR_STATUSES,
) -> Route:
    """GET `path`: the document of `endpoints` (the route itself is not in it)."""

    async def openapi(_request: Request) -> Response:
        return JSONResponse(openapi_document(endpoints, title, version, errors))

    return Route(path, openapi, methods=["GET"])
