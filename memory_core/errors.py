"""The one exception tree of memoryd, memory-hub and the MCP shim.

Each error knows its HTTP status and a stable code; `memory_core.http.errors` turns them into
`{"error": {"code", "message", **extra}}` in one place for both servers, and clients turn such
an answer back into the same class (`RemoteError` when the code is not one of ours).

    ServiceError                    500 internal
    ├── BadRequest                  400 bad_request
    ├── Unauthorized                401 unauthorized (hub: a missing or unknown API key)
    ├── Forbidden                   403 forbidden (hub: a shared memory the caller may not change)
    ├── NotFound                    404 not_found
    │   └── MalformedId             422 invalid (an id that cannot name a memory, e.g. `-1`)
    ├── Conflict                    409 conflict
    │   ├── NoHub                   409 no_hub (daemon: sharing needs a hub; none is configured)
    │   ├── WrongKey                409 wrong_key (sealed with another encryption key)
    │   ├── EndToEndMode            409 end_to_end (hub: the user's data is sealed by clients)
    │   ├── SealedByClient          409 sealed_by_client
    │   ├── OpCollision             409 op_collision
    │   └── ReplicaCollision        409 replica_collision
    ├── PayloadTooLarge             413 payload_too_large
    ├── RateLimited                 429 rate_limited (hub: a user's ops per minute; Retry-After)
    │   ├── QuotaExceeded           429 quota_exceeded (hub: a user's bytes or memories)
    │   └── AuthThrottled           429 auth_throttled (hub: failed keys from one address)
    ├── InvalidInput                422 invalid
    │   ├── ContentTooLong          422 content_too_long
    │   ├── UnknownCategory         422 unknown_category
    │   ├── BadEnvelope             422 bad_envelope (a sealed op that does not open)
    │   ├── ClockSkew               422 clock_skew (hub: an op stamped in the future)
    │   ├── InvalidOp               422 invalid_op
    │   └── SensitiveRefused        422 sensitive_not_stored
    ├── DecryptError                500 decrypt_failed
    ├── DiskFull                    507 disk_full (no room left for a file: nothing was written)
    ├── HubFailed                   502 hub_error (the hub answered, but not usefully)
    │   └── HubAuthFailed           502 hub_auth_failed
    ├── SecretBackendError          502 secret_backend (hub: Vault)
    ├── Unavailable                 503 unavailable
    │   ├── HubUnreachable          503 hub_unreachable
    │   ├── DaemonDown              503 daemon_down (a client found no memoryd)
    │   └── StoreDamaged            503 store_damaged (a large file failed its later check)
    ├── RemoteError                 any: a peer's error answer, status and code as it sent them
    ├── ConfigError                 a setting is invalid; start-up stops with its one line
    │   └── UnsafeDirectory         a directory others could change (memory_core/private_files)
    └── StoreCorrupt                the database cannot be opened safely
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 500
    code = "internal"

    def __init_subclass__(
        cls, *, status: int | None = None, code: str | None = None, **kwargs: Any
    ) -> None:
        """A subclass names its code, and its status where it is not its parent's, in its
        header: `class WrongKey(Conflict, code="wrong_key")`."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        # Fields merged into the error body beside code and message: `op_ids` names the ops at
        # fault, `server_time` comes with clock_skew.
        self.extra: dict[str, Any] = extra


class BadRequest(ServiceError, status=400, code="bad_request"): ...


class Unauthorized(ServiceError, status=401, code="unauthorized"): ...


class Forbidden(ServiceError, status=403, code="forbidden"): ...


class NotFound(ServiceError, status=404, code="not_found"): ...


class MalformedId(NotFound, status=422, code="invalid"):
    """An id of no memory's shape: names nothing, as NotFound does for its callers, but the
    client is told its input is wrong rather than that the memory is gone."""


class Conflict(ServiceError, status=409, code="conflict"): ...


class NoHub(Conflict, code="no_hub"): ...


class WrongKey(Conflict, code="wrong_key"): ...


class EndToEndMode(Conflict, code="end_to_end"): ...


class SealedByClient(Conflict, code="sealed_by_client"): ...


class OpCollision(Conflict, code="op_collision"): ...


class ReplicaCollision(Conflict, code="replica_collision"): ...


class PayloadTooLarge(ServiceError, status=413, code="payload_too_large"): ...


class RateLimited(ServiceError, status=429, code="rate_limited"):
    """Too much, too soon: the answer carries `retry_after` (whole seconds), which the HTTP
    layer also sends as the `Retry-After` header."""

    def __init__(self, message: str, retry_after_s: int, **extra: Any) -> None:
        super().__init__(message, retry_after=max(1, retry_after_s), **extra)


class QuotaExceeded(RateLimited, code="quota_exceeded"):
    """The write would take a user past a storage quota; nothing was stored. Retrying helps
    only once the user deletes or the quota is raised, so Retry-After is only a pace."""


class AuthThrottled(RateLimited, code="auth_throttled"): ...


class InvalidInput(ServiceError, status=422, code="invalid"): ...


class ContentTooLong(InvalidInput, code="content_too_long"): ...


class UnknownCategory(InvalidInput, code="unknown_category"): ...


class BadEnvelope(InvalidInput, code="bad_envelope"):
    """A sealed op that cannot be opened with the right key: tampered or corrupt."""


class ClockSkew(InvalidInput, code="clock_skew"): ...


class InvalidOp(InvalidInput, code="invalid_op"): ...


class SensitiveRefused(InvalidInput, code="sensitive_not_stored"): ...


class DecryptError(ServiceError, code="decrypt_failed"): ...


class DiskFull(ServiceError, status=507, code="disk_full"):
    """The disk holding a file memoryd writes has no room left (memory_core.disk tells)."""


class HubFailed(ServiceError, status=502, code="hub_error"):
    """The hub answered, but not with something the daemon can pass on (5xx, a bad key, a body
    that is not the REST shape)."""


class HubAuthFailed(HubFailed, code="hub_auth_failed"): ...


class SecretBackendError(ServiceError, status=502, code="secret_backend"): ...


class Unavailable(ServiceError, status=503, code="unavailable"): ...


class HubUnreachable(Unavailable, code="hub_unreachable"):
    """The hub refused the connection, did not answer in time, or answered 5xx/429."""


class DaemonDown(Unavailable, code="daemon_down"): ...


class RemoteError(ServiceError):
    """An error answer from a peer, kept with the status and code it sent."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ConfigError(ServiceError):
    """A setting is invalid; start-up stops with this one-line message."""


class UnsafeDirectory(ConfigError):
    """A directory for private files that another user owns or others may write to."""


class StoreDamaged(Unavailable, code="store_damaged"):
    """The database failed the integrity check made once the daemon served it (a large file,
    memoryd/store/integrity.py): reads are served, writes refused."""


class StoreCorrupt(ServiceError):
    """The database cannot be opened safely; the daemon refuses to touch it."""
