"""The one place where exceptions become HTTP responses: `{"error": {"code", "message", ...}}`."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memory_hub.errors import HubError
from memoryd.errors import MemorydError

log = logging.getLogger("memory_hub")

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def _count(request: Request, code: str) -> None:
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.errors[code] += 1


def error_response(
    request: Request, status: int, code: str, message: str, extra: dict[str, Any] | None = None
) -> JSONResponse:
    _count(request, code)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"error": {"code": code, "message": message, **(extra or {})}},
        status_code=status,
        headers=headers,
    )


async def on_known(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MemorydError)
    extra = exc.extra if isinstance(exc, HubError) else None
    return error_response(request, exc.status, exc.code, exc.message, extra)


async def on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if exc.status_code != 404 else f"no such endpoint: {request.url.path}"
    return error_response(request, exc.status_code, code, str(message))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    # Bodies may hold secrets: log the type and the route, never the request.
    log.error(
        "unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc
    )
    return error_response(request, 500, "internal", "internal error; the hub log has details")


HANDLERS = {MemorydError: on_known, HTTPException: on_http, Exception: on_unexpected}
