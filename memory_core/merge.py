"""The join of remote field values into a memory: per-field last-writer-wins by HLC.

A field's winner is the value with the larger `(hlc, canonical(value))`. Equal HLCs can only
come from two replicas stamping the same instant; comparing the canonical values then picks
the same winner everywhere, so the join stays commutative, associative and idempotent.
"""

from __future__ import annotations

import json
from typing import Any

from memory_core.errors import InvalidInput
from memory_core.model import CATEGORIES, SOURCES, SYNCED_FIELDS, is_id


def canonical(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def wins(remote_hlc: int, remote_value: Any, local_hlc: int | None, local_value: Any) -> bool:
    if local_hlc is None or remote_hlc > local_hlc:
        return True
    return remote_hlc == local_hlc and canonical(remote_value) > canonical(local_value)


def check_remote_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Remote values with the types the store holds; a malformed op raises InvalidInput (the
    engine sets it aside) instead of reaching SQLite."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "created_ms":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidInput("created_ms must be a non-negative integer")
        elif name not in SYNCED_FIELDS:
            continue  # a field from a newer format: ignored, not fatal
        elif name in ("content", "expanded_keywords"):
            if not isinstance(value, str):
                raise InvalidInput(f"{name} must be a string")
        elif name == "category":
            if value not in CATEGORIES:
                raise InvalidInput(f"unknown category {value!r}")
        elif name == "source":
            if value not in SOURCES:
                raise InvalidInput(f"unknown source {value!r}")
        elif name == "tags":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise InvalidInput("tags must be a list of strings")
        elif name == "importance":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput("importance must be a number")
            if not 0.0 <= value <= 1.0:
                raise InvalidInput("importance must be between 0 and 1")
            value = float(value)
        elif name == "is_sensitive":
            if not isinstance(value, bool):
                raise InvalidInput("is_sensitive must be a boolean")
        elif name == "project" and value is not None and not isinstance(value, str):
            raise InvalidInput("project must be a string or null")
        elif name == "supersedes" and value is not None and not is_id(value):
            raise InvalidInput("supersedes must be a memory id or null")
        out[name] = value
    return out
