"""The one place where exceptions become HTTP responses: `{"error": {"code", "message"}}`."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memoryd.errors import MemorydError

log = logging.getLogger("memoryd.api")

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def on_memoryd_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MemorydError)
    return error_response(exc.status, exc.code, exc.message)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if exc.status_code != 404 else f"no such endpoint: {request.url.path}"
    return error_response(exc.status_code, code, str(message))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    # Content may be sensitive: log the type and where, never the request body.
    log.error(
        "unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc
    )
    return error_response(500, "internal", "internal error; the daemon log has details")


HANDLERS = {
    MemorydError: on_memoryd_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
