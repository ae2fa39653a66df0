"""The hub's settings, from the environment. A bad value stops start-up with one clear line."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from memory_core.errors import ConfigError
from memory_core.wire.sync import MAX_PUSH_BYTES, MAX_PUSH_OPS
from memory_hub.limits import Quotas

DEFAULT_USER = "default"


class _Env(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    database_url: Annotated[str | None, Field(validation_alias="DATABASE_URL")] = None
    api_key: Annotated[SecretStr | None, Field(validation_alias="API_KEY")] = None
    api_keys: Annotated[SecretStr | None, Field(validation_alias="API_KEYS")] = None
    encryption_key: Annotated[SecretStr | None, Field(validation_alias="MEMORY_ENCRYPTION_KEY")] = (
        None
    )
    vault_addr: Annotated[str | None, Field(validation_alias="VAULT_ADDR")] = None
    vault_token: Annotated[SecretStr | None, Field(validation_alias="VAULT_TOKEN")] = None
    vault_transit_mount: Annotated[str, Field(validation_alias="VAULT_TRANSIT_MOUNT")] = "transit"
    vault_transit_key: Annotated[str, Field(validation_alias="VAULT_TRANSIT_KEY")] = "memory-hub"
    max_content_chars: Annotated[
        int, Field(validation_alias="MEMORY_MAX_CONTENT_CHARS", ge=100, le=100_000)
    ] = 1400
    max_push_ops: Annotated[int, Field(validation_alias="HUB_MAX_PUSH_OPS", ge=1, le=10_000)] = (
        MAX_PUSH_OPS
    )
    max_push_bytes: Annotated[
        int, Field(validation_alias="HUB_MAX_PUSH_BYTES", ge=1024, le=256 * 1024 * 1024)
    ] = MAX_PUSH_BYTES
    max_future_skew_s: Annotated[
        float, Field(validation_alias="HUB_MAX_FUTURE_SKEW", gt=0, le=86400 * 7)
    ] = 600.0
    pool_min: Annotated[int, Field(validation_alias="HUB_POOL_MIN", ge=0, le=100)] = 1
    pool_max: Annotated[int, Field(validation_alias="HUB_POOL_MAX", ge=1, le=200)] = 10
    # Per-user quotas and the failed-key throttle (docs/hub.md "Limits"); 0 turns one off.
    # Named as Quotas' fields: `quotas` reads them by name.
    ops_per_minute: Annotated[
        int, Field(validation_alias="HUB_USER_OPS_PER_MINUTE", ge=0, le=10_000_000)
    ] = 20_000
    max_bytes: Annotated[int, Field(validation_alias="HUB_USER_MAX_BYTES", ge=0)] = 1 << 30
    max_memories: Annotated[
        int, Field(validation_alias="HUB_USER_MAX_MEMORIES", ge=0, le=1 << 40)
    ] = 1_000_000
    auth_failures_per_minute: Annotated[
        int, Field(validation_alias="HUB_AUTH_FAILURES_PER_MINUTE", ge=0, le=1_000_000)
    ] = 30
    refusal_delay_s: Annotated[
        float, Field(validation_alias="HUB_RATE_REFUSAL_DELAY", ge=0, le=10)
    ] = 1.0

    def quotas(self) -> Quotas:
        return Quotas(**{quota.name: getattr(self, quota.name) for quota in fields(Quotas)})


@dataclass(frozen=True)
class HubSettings:
    database_url: str
    keys: dict[str, str]  # user -> key
    encryption_key: str | None = None
    vault_addr: str | None = None
    vault_token: str | None = None
    vault_transit_mount: str = "transit"
    vault_transit_key: str = "memory-hub"
    max_content_chars: int = 1400
    max_push_ops: int = MAX_PUSH_OPS
    max_push_bytes: int = MAX_PUSH_BYTES
    max_future_skew_ms: int = 600_000
    pool_min: int = 1
    pool_max: int = 10
    quotas: Quotas = field(default_factory=Quotas)


def parse_api_keys(raw: str) -> dict[str, str]:
    """API_KEYS is a JSON object mapping each user to their key."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f'invalid API_KEYS: not JSON ({exc.msg}); expected {{"alice": "key1", "bob": "key2"}}'
        ) from None
    if not isinstance(data, dict) or not data:
        raise ConfigError('invalid API_KEYS: expected a non-empty JSON object {"user": "key"}')
    keys: dict[str, str] = {}
    seen: set[str] = set()
    for user, key in data.items():
        if not isinstance(key, str) or len(key) < 8:
            raise ConfigError(
                f"invalid API_KEYS: the key of user {user!r} must be a string of 8+ characters"
            )
        if not user.strip() or len(user) > 100:
            raise ConfigError("invalid API_KEYS: user names must be 1-100 characters")
        if key in seen:
            raise ConfigError("invalid API_KEYS: two users share the same key")
        seen.add(key)
        keys[user] = key
    return keys


def load_settings(environ: Mapping[str, str] | None = None) -> HubSettings:
    try:
        env = _Env.model_validate(_aliases(os.environ if environ is None else environ))
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "settings"
        raise ConfigError(f"invalid {name}: {err['msg']}") from None
    if not env.database_url:
        raise ConfigError("DATABASE_URL is required (postgresql://user:password@host:5432/db)")
    if not env.database_url.startswith(("postgres://", "postgresql://")):
        raise ConfigError("invalid DATABASE_URL: must start with postgresql://")
    keys: dict[str, str] = {}
    if env.api_keys is not None:
        keys = parse_api_keys(env.api_keys.get_secret_value())
    if env.api_key is not None:
        single = env.api_key.get_secret_value()
        if len(single) < 8:
            raise ConfigError("invalid API_KEY: use at least 8 characters")
        if keys.get("default", single) != single or single in {
            k for u, k in keys.items() if u != "default"
        }:
            raise ConfigError("API_KEY conflicts with API_KEYS (same key or a different 'default')")
        keys.setdefault("default", single)
    if not keys:
        raise ConfigError("set API_KEY (single user) or API_KEYS (JSON map of user to key)")
    if bool(env.vault_addr) != bool(env.vault_token):
        raise ConfigError("VAULT_ADDR and VAULT_TOKEN must be set together")
    return HubSettings(
        database_url=env.database_url,
        keys=keys,
        encryption_key=env.encryption_key.get_secret_value() if env.encryption_key else None,
        vault_addr=env.vault_addr.rstrip("/") if env.vault_addr else None,
        vault_token=env.vault_token.get_secret_value() if env.vault_token else None,
        vault_transit_mount=env.vault_transit_mount,
        vault_transit_key=env.vault_transit_key,
        max_content_chars=env.max_content_chars,
        max_push_ops=env.max_push_ops,
        max_push_bytes=env.max_push_bytes,
        max_future_skew_ms=int(env.max_future_skew_s * 1000),
        pool_min=env.pool_min,
        pool_max=env.pool_max,
        quotas=env.quotas(),
    )


def _aliases(environ: Mapping[str, str]) -> dict[str, str]:
    names = {f.validation_alias for f in _Env.model_fields.values()}
    return {k: v for k, v in environ.items() if k in names and v != ""}
