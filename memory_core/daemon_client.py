"""HTTP to memoryd over its Unix socket, for the clients beside it: the `memory` CLI (blocking)
and the MCP shim (async).

One place says how the socket is reached and what an error answer becomes. What to do when no
daemon answers stays with each client: the CLI says how to start one (`DaemonDown`), the shim
starts one and sends the request again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from memory_core.errors import RemoteError
from memory_core.wire.rest import ErrorBody, ErrorOut

# Any host reaches a Unix socket; this one names the peer in httpx's errors and logs.
BASE_URL = "http://memoryd"
# Plain HTTP over a Unix socket never uses TLS, yet a transport left to verify certificates
# builds its TLS context up front, loading the CA bundle: 70 ms of every `memory` command's
# start. Nothing to verify here, so the transports are made with verify=False.
_VERIFY_CERTIFICATES = False


def blocking_client(socket_path: Path, timeout: httpx.Timeout | float) -> httpx.Client:
    return httpx.Client(
        transport=httpx.HTTPTransport(uds=str(socket_path), verify=_VERIFY_CERTIFICATES),
        base_url=BASE_URL,
        timeout=timeout,
    )


def async_client(socket_path: Path, timeout: httpx.Timeout | float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(uds=str(socket_path), verify=_VERIFY_CERTIFICATES),
        base_url=BASE_URL,
        timeout=timeout,
    )


def error_body(response: httpx.Response) -> ErrorBody | None:
    """The `{"error": {"code", "message"}}` of an (already read) answer, or None without one."""
    try:
        return ErrorOut.model_validate_json(response.content).error
    except ValidationError:
        return None


def remote_error(response: httpx.Response) -> RemoteError:
    """An error answer, with the status, code and message the daemon sent; an answer without
    the error envelope keeps its status, with the code `http_error` and the body's start."""
    body = error_body(response)
    if body is None:
        return RemoteError(response.status_code, "http_error", response.text[:200])
    return RemoteError(response.status_code, body.code, body.message)


def json_answer(response: httpx.Response) -> Any:
    """The answer's JSON, or the `RemoteError` it stands for."""
    if response.status_code >= 400:
        raise remote_error(response)
    return response.json()
