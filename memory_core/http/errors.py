"""The one place where exceptions become HTTP responses, for the daemon and the hub alike:
`{"error": {"code", "message", **extra}}`.

`exception_handlers(name)` gives a Starlette app its handlers; `name` is what the 500 message
points at ("the daemon log", "the hub log"), and `count` (the hub's metrics) sees every code.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memory_core.disk import is_disk_full
from memory_core.errors import DiskFull, ServiceError

log = logging.getLogger("memory_core.http")

Handler = Callable[[Request, Exception], Awaitable[Response]]
CountError = Callable[[Request, str], None]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class ErrorJSON(JSONResponse):
    """An error message may quote the request, and a request may hold a lone surrogate (half an
    emoji, cut by a client), which UTF-8 cannot encode: it is written as "?" rather than
    turning a 4xx into a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "replace"
        )


def error_response(
    status: int, code: str, message: str, extra: Mapping[str, Any] | None = None
) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 429 and extra is not None and "retry_after" in extra:
        headers = {"Retry-After": str(extra["retry_after"])}
    return ErrorJSON(
        {"error": {"code": code, "message": message, **(extra or {})}},
        status_code=status,
        headers=headers,
    )


def exception_handlers(name: str, count: CountError | None = None) -> dict[Any, Handler]:
    def answer(
        request: Request, status: int, code: str, message: str, extra: Mapping[str, Any] | None
    ) -> Response:
        if count is not None:
            count(request, code)
        return error_response(status, code, message, extra)

    async def on_service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        return answer(request, exc.status, exc.code, exc.message, exc.extra)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if exc.status_code != 404 else f"no such endpoint: {request.url.path}"
        return answer(request, exc.status_code, code, str(message), None)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        if is_disk_full(exc):  # a write no store wrapper saw (a log, a file): not a bug
            log.error("disk full on %s %s: %s", request.method, request.url.path, exc)
            message = "the disk is full; free some space on it, then try again"
            return answer(request, DiskFull.status, DiskFull.code, message, None)
        # Bodies may hold secrets: log the type and the route, never the request.
        log.error(
            "unexpected %s on %s %s",
            type(exc).__name__,
            request.method,
            request.url.path,
            exc_info=exc,
        )
        return answer(request, 500, "internal", f"internal error; the {name} log has details", None)

    return {
        ServiceError: on_service_error,
        HTTPException: on_http_error,
        Exception: on_unexpected,
    }
