"""Settings from the environment; the names are the original project's.

A bad value stops start-up with one line that names the variable (`load_settings`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from memory_core.errors import ConfigError

DEFAULT_MAX_CONTENT = 1400


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", frozen=True)

    home: Annotated[Path, Field(validation_alias="MEMORY_HOME")] = Path("~/.claude/claude-memory")
    db: Annotated[Path | None, Field(validation_alias="MEMORY_DB")] = None
    socket: Annotated[Path | None, Field(validation_alias="MEMORY_SOCKET")] = None
    api_url: Annotated[
        str,
        Field(validation_alias=AliasChoices("MEMORY_API_URL", "CLAUDE_MEMORY_API_URL")),
    ] = "http://localhost:8080"
    api_key: Annotated[
        SecretStr | None,
        Field(validation_alias=AliasChoices("MEMORY_API_KEY", "CLAUDE_MEMORY_API_KEY")),
    ] = None
    sync_interval: Annotated[
        float, Field(validation_alias="MEMORY_SYNC_INTERVAL", gt=0, le=86400)
    ] = 60.0
    sync_disable: Annotated[bool, Field(validation_alias="MEMORY_SYNC_DISABLE")] = False
    encryption_key: Annotated[SecretStr | None, Field(validation_alias="MEMORY_ENCRYPTION_KEY")] = (
        None
    )
    hub_timeout: Annotated[float, Field(validation_alias="MEMORY_HUB_TIMEOUT", gt=0, le=60)] = 4.0
    max_content_chars: Annotated[
        int, Field(validation_alias="MEMORY_MAX_CONTENT_CHARS", ge=100, le=100_000)
    ] = DEFAULT_MAX_CONTENT
    # A database file larger than this is checked (PRAGMA quick_check, which reads all of it)
    # in the background once the daemon serves, not before (memoryd/store/integrity.py).
    check_later_bytes: Annotated[int, Field(validation_alias="MEMORY_CHECK_LATER_BYTES", ge=0)] = (
        256 * 2**20
    )
    # The semantic leg (on by default): 0/false/no/off turns it off.
    semantic: Annotated[bool, Field(validation_alias="MEMORY_SEMANTIC")] = True
    # A sentence-transformers ONNX model directory to embed with in place of the packaged one.
    embed_model: Annotated[Path | None, Field(validation_alias="MEMORY_EMBED_MODEL")] = None
    # From this many stored vectors on, semantic recall searches an approximate index kept in
    # a file next to the database instead of every vector in memory (memoryd.semantic.keeper).
    semantic_approx_min: Annotated[
        int, Field(validation_alias="MEMORY_SEMANTIC_APPROX_MIN", ge=100)
    ] = 50_000
    # Recall queries embedded by the static table distilled from the model (memoryd.semantic.
    # static) once it is built; 0/false/no/off: every query runs the model.
    semantic_static_query: Annotated[
        bool, Field(validation_alias="MEMORY_SEMANTIC_STATIC_QUERY")
    ] = True

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("embed_model", mode="before")
    @classmethod
    def _unset_if_empty(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("home", "db", "socket", "embed_model")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser()

    @property
    def db_path(self) -> Path:
        return self.db or self.home / "memory" / "memory.db"

    @property
    def socket_path(self) -> Path:
        if self.socket is not None:
            return self.socket
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        if runtime:
            return Path(runtime) / "memoryd" / "memoryd.sock"
        return self.home / "run" / "memoryd.sock"

    @property
    def key_file(self) -> Path:
        return self.home / "keys" / "memory.key"

    @property
    def cache_dir(self) -> Path:
        """Rebuildable files (the semantic leg's int8 query model), shared by every store."""
        return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "memoryd"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def mode(self) -> str:
        if self.api_key is None:
            return "local"
        return "http" if self.sync_disable else "hybrid"


def load_settings(**overrides: object) -> Settings:
    """Read the environment, turning the first invalid value into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "configuration"
        value = os.environ.get(name)
        shown = "" if value is None or "KEY" in name else f" (got {value!r})"
        raise ConfigError(f"invalid {name}{shown}: {err['msg']}") from None
