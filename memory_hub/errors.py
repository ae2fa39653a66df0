"""The hub's exceptions, on top of the daemon's tree (each knows its HTTP status and code)."""

from __future__ import annotations

from typing import Any

from memoryd.errors import MemorydError


class HubError(MemorydError):
    """Base for the hub's own errors; `extra` fields are merged into the error body."""

    extra: dict[str, Any] = {}  # noqa: RUF012 - overridden per instance


class Unauthorized(HubError):
    status = 401
    code = "unauthorized"


class ClockSkew(HubError):
    status = 422
    code = "clock_skew"

    def __init__(self, message: str, server_time_ms: int, op_ids: list[str]) -> None:
        super().__init__(message)
        self.extra = {"server_time": server_time_ms, "op_ids": op_ids}


class InvalidOp(HubError):
    status = 422
    code = "invalid_op"

    def __init__(self, message: str, op_ids: list[str]) -> None:
        super().__init__(message)
        self.extra = {"op_ids": op_ids}


class EndToEndMode(HubError):
    status = 409
    code = "end_to_end"


class SealedByClient(HubError):
    status = 409
    code = "sealed_by_client"


class SensitiveRefused(HubError):
    status = 422
    code = "sensitive_not_stored"


class OpCollision(HubError):
    status = 409
    code = "op_collision"

    def __init__(self, message: str, op_ids: list[str]) -> None:
        super().__init__(message)
        self.extra = {"op_ids": op_ids}


class ReplicaCollision(HubError):
    status = 409
    code = "replica_collision"

    def __init__(self, message: str, op_ids: list[str]) -> None:
        super().__init__(message)
        self.extra = {"op_ids": op_ids}


class SecretBackendError(HubError):
    status = 502
    code = "secret_backend"
