"""What a hub answer or a failure to reach the hub becomes in the daemon's exception tree.

The hub speaks the same `{"error": {"code", "message"}}` shape as the daemon, so a 4xx keeps
its status, its code and its message: the caller sees exactly what the hub said.
"""

from __future__ import annotations

from typing import Any

import httpx

from memory_core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    HubAuthFailed,
    HubFailed,
    HubUnreachable,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    ServiceError,
)

_BY_STATUS: dict[int, type[ServiceError]] = {
    400: BadRequest,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidInput,
}


def _error_body(response: httpx.Response) -> tuple[str | None, str | None]:
    try:
        data: Any = response.json()
    except ValueError:
        return None, None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None, None
    code, message = error.get("code"), error.get("message")
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) else None,
    )


def _error_item(response: httpx.Response) -> int | None:
    try:
        item = response.json()["error"]["item"]
    except (ValueError, KeyError, TypeError):
        return None
    return item if isinstance(item, int) and not isinstance(item, bool) else None


def from_response(response: httpx.Response, hub_url: str) -> ServiceError:
    """The daemon error for a hub answer that is not a success."""
    status = response.status_code
    code, message = _error_body(response)
    # A 403 `forbidden` is about one memory (a share's permission), not about the key.
    if status == 401 or (status == 403 and code != "forbidden"):
        return HubAuthFailed(
            f"the hub at {hub_url} rejected MEMORY_API_KEY ({status}"
            f"{': ' + message if message else ''}); check the key the hub was given"
        )
    if 400 <= status < 500:
        error = _BY_STATUS.get(status, BadRequest)(message or f"the hub answered {status}")
        # Keep the hub's own status and code (e.g. 422 content_too_long, 429 rate_limited).
        error.status = status
        if code:
            error.code = code
        item = _error_item(response)
        if item is not None:  # an import's refused item (memoryd.import_rows skips it)
            error.extra["item"] = item
        return error
    if status == 503:
        return HubUnreachable(
            f"the hub at {hub_url} is unavailable ({message or 'it answered 503'})"
        )
    return HubFailed(f"the hub at {hub_url} answered {status}{': ' + message if message else ''}")


def answer(response: httpx.Response, hub_url: str) -> Any:
    """A hub answer's JSON, or the daemon error it stands for."""
    if response.status_code >= 400:
        raise from_response(response, hub_url)
    try:
        return response.json()
    except ValueError:
        raise HubFailed(f"the hub at {hub_url} answered with a body that is not JSON") from None


def unreachable(exc: Exception, hub_url: str, timeout: float) -> HubUnreachable:
    # Only a failed connection proves nothing reached the hub; after that a write may have been
    # applied with its answer lost, and the message must not claim otherwise.
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return HubUnreachable(
            f"cannot reach the hub at {hub_url} ({type(exc).__name__}); HTTP-only mode keeps no "
            "local copy, so nothing was read or written. Start the hub or check MEMORY_API_URL"
        )
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        what = f"did not answer within {timeout:g} s"
    else:
        what = f"dropped the request ({type(exc).__name__})"
    return HubUnreachable(
        f"the hub at {hub_url} {what}; a write may or may not have been applied, so list or "
        "recall before repeating it"
    )
