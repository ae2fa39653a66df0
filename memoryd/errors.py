"""The daemon's exception tree. Each error knows its HTTP status and a stable code.

The API maps these to `{"error": {"code", "message"}}` in one place (`memoryd.api.errors`).
"""

from __future__ import annotations


class MemorydError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(MemorydError):
    status = 400
    code = "bad_request"


class NotFound(MemorydError):
    status = 404
    code = "not_found"


class Conflict(MemorydError):
    status = 409
    code = "conflict"


class PayloadTooLarge(MemorydError):
    status = 413
    code = "payload_too_large"


class InvalidInput(MemorydError):
    status = 422
    code = "invalid"


class ContentTooLong(InvalidInput):
    code = "content_too_long"


class UnknownCategory(InvalidInput):
    code = "unknown_category"


class Unavailable(MemorydError):
    status = 503
    code = "unavailable"


class ConfigError(MemorydError):
    """A setting is invalid; start-up stops with this one-line message."""


class StoreCorrupt(MemorydError):
    """The database cannot be opened safely; the daemon refuses to touch it."""
