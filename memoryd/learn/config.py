"""Auto-learn settings, read from the daemon's environment."""

from __future__ import annotations

import os
import shutil
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "claude-haiku-5-5"


class LearnSettings(BaseSettings):
    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", frozen=True)

    enabled: Annotated[bool, Field(validation_alias="MEMORY_AUTO_LEARN")] = True
    model: Annotated[str, Field(validation_alias="MEMORY_LEARN_MODEL", min_length=1)] = (
        DEFAULT_MODEL
    )
    daily_tokens: Annotated[
        int, Field(validation_alias="MEMORY_LEARN_DAILY_TOKENS", ge=0, le=10**9)
    ] = 200_000
    claude_bin: Annotated[str, Field(validation_alias="MEMORY_LEARN_CLAUDE_BIN")] = "claude"


def backend(settings: LearnSettings) -> tuple[str | None, str]:
    """Which judge to use ('api' or 'cli'), or None and why learning is off."""
    if not settings.enabled:
        return None, "off: MEMORY_AUTO_LEARN=0"
    if os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN"):
        return "api", f"on: Anthropic API, model {settings.model}"
    found = shutil.which(settings.claude_bin)
    if found:
        return "cli", f"on: `claude -p` ({found}), model {settings.model}"
    return None, (
        "off: no ANTHROPIC_API_KEY in the daemon's environment and no `claude` CLI on its PATH"
    )
