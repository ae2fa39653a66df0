"""Builders of sync ops for hub tests."""

from __future__ import annotations

import base64
import os
from typing import Any

from memory_core.ids import uuid7


def replica() -> str:
    return os.urandom(16).hex()


def _op(replica_id: str, replica_seq: int, entity: str, hlc: int, kind: str) -> dict[str, Any]:
    return {
        "replica_id": replica_id,
        "replica_seq": replica_seq,
        "op_id": uuid7(),
        "entity_id": entity,
        "hlc": hlc,
        "kind": kind,
    }


def put(replica_id: str, replica_seq: int, entity: str, hlc: int, **fields: Any) -> dict[str, Any]:
    return {
        **_op(replica_id, replica_seq, entity, hlc, "put"),
        "field_mask": sorted(fields),
        "fields": fields,
    }


def sealed_put(
    replica_id: str, replica_seq: int, entity: str, hlc: int, blob: bytes, **fields: Any
) -> dict[str, Any]:
    """A sensitive put: content sealed by the client (opaque bytes to the hub)."""
    op = put(replica_id, replica_seq, entity, hlc, **fields)
    op["field_mask"] = sorted([*fields, "content"])
    op["sealed"] = base64.b64encode(blob).decode()
    op["key_id"] = "0123456789abcdef"
    return op


def delete(replica_id: str, replica_seq: int, entity: str, hlc: int) -> dict[str, Any]:
    return {**_op(replica_id, replica_seq, entity, hlc, "del"), "field_mask": []}
