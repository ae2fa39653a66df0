"""The join of a remote op into a memory: per-field last-writer-wins by HLC. The one merge of
the project: the daemon applies pulled ops with it, the hub keeps its materialised view with it,
so both hold the same state whatever order the ops arrive in.

A field's winner is the value with the larger `(hlc, canonical(value))`. Equal HLCs can only
come from two replicas stamping the same instant; comparing the canonical values then picks
the same winner everywhere, so the join stays commutative, associative and idempotent.
`created_ms` is the smallest creation time any op carried, an op without one counting its own
wall time (nothing is changed before it exists); `updated_ms` is the latest wall time of any
op. A minimum and a maximum, they do not depend on the order either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from memory_core import links
from memory_core.errors import InvalidInput
from memory_core.hlc import wall_ms
from memory_core.model import CATEGORIES, SOURCES, SYNCED_FIELDS, check_text, check_time_ms, is_id

# Configured once, never changed: json.dumps with non-default options builds an encoder per
# call, which was a measurable share of applying a pulled page (issue 20).
_CANONICAL = json.JSONEncoder(separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def canonical(value: Any) -> str:
    """Compact, sorted keys, UTF-8 as is: equal values encode to equal text."""
    return _CANONICAL.encode(value)


def wins(remote_hlc: int, remote_value: Any, local_hlc: int | None, local_value: Any) -> bool:
    if local_hlc is None or remote_hlc > local_hlc:
        return True
    return remote_hlc == local_hlc and canonical(remote_value) > canonical(local_value)


@dataclass(frozen=True)
class Seen:
    """What the join needs of a memory already held: each field's value (content in clear
    where this side can read it) and the HLC that wrote it, and the memory's two times."""

    values: Mapping[str, Any]
    clocks: Mapping[str, int]
    created_ms: int
    updated_ms: int


@dataclass(frozen=True)
class Joined:
    winners: dict[str, Any]  # the fields the op sets, with their new values
    created_ms: int
    updated_ms: int
    changed: bool


def join(seen: Seen | None, hlc: int, fields: Mapping[str, Any]) -> Joined:
    """Join one put (its HLC and checked field values) into a memory; `seen` is None for a
    memory this side has never held."""
    stamp = wall_ms(hlc)
    born = fields.get("created_ms", stamp)
    lww = {name: value for name, value in fields.items() if name != "created_ms"}
    if seen is None:
        return Joined(lww, born, stamp, True)
    winners = {
        name: value
        for name, value in lww.items()
        if wins(hlc, value, seen.clocks.get(name), seen.values.get(name))
    }
    created = min(seen.created_ms, born)
    updated = max(seen.updated_ms, stamp)
    changed = bool(winners) or (created, updated) != (seen.created_ms, seen.updated_ms)
    return Joined(winners, created, updated, changed)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    return check_text(name, value)


def check_remote_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Another replica's field values, held to the rules of a local write but for lengths
    (replicas may allow longer content; the op's size bounds it): the types the stores hold,
    text without NUL or lone surrogates, times and numbers in range. A malformed op raises
    InvalidInput: the daemon sets it aside, the hub refuses the push."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "created_ms":
            check_time_ms("created_ms", value)
        elif name not in SYNCED_FIELDS:
            continue  # a field from a newer format: ignored, not fatal
        elif name in ("content", "expanded_keywords"):
            _text(name, value)
        elif name == "category":
            if value not in CATEGORIES:
                raise InvalidInput(f"unknown category {value!r}")
        elif name == "source":
            if value not in SOURCES:
                raise InvalidInput(f"unknown source {value!r}")
        elif name == "tags":
            if not isinstance(value, list):
                raise InvalidInput("tags must be a list of strings")
            for tag in value:
                _text("tags", tag)
        elif name == "importance":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput("importance must be a number")
            if not 0.0 <= value <= 1.0:  # NaN fails this too
                raise InvalidInput("importance must be between 0 and 1")
            value = float(value)
        elif name == "is_sensitive":
            if not isinstance(value, bool):
                raise InvalidInput("is_sensitive must be a boolean")
        elif name == "project" and value is not None:
            _text("project", value)
        elif name == "supersedes" and value is not None and not is_id(value):
            raise InvalidInput("supersedes must be a memory id or null")
        elif name == "links":
            value = links.check_stored(value, is_id)
        out[name] = value
    return out
