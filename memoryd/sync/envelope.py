"""Sealing op bodies for the hub: AES-256-GCM with the op header as associated data.

The key is derived from the user's key (MEMORY_ENCRYPTION_KEY, the same on each machine), so
any of the user's replicas opens what another sealed. The header is bound as associated data:
a ciphertext moved to another memory, HLC, kind, mask or replica does not open.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from memory_core.crypto.keys import derive, key_id
from memory_core.errors import BadEnvelope, WrongKey
from memory_core.wire.sync import FIELDS, Kind, Op, OpHeader, aad

SEAL_V1 = 1
_NONCE = 12


class SyncCipher:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(derive(key, "memoryd/sync/v1"))
        self.key_id = key_id(key)

    def seal(self, header: OpHeader, values: dict[str, Any]) -> str:
        nonce = os.urandom(_NONCE)
        plain = json.dumps(values, separators=(",", ":"), sort_keys=True).encode()
        blob = bytes([SEAL_V1]) + nonce + self._aead.encrypt(nonce, plain, aad(header))
        return base64.b64encode(blob).decode()

    def open(self, op: Op) -> dict[str, Any]:
        """The sealed values of `op` (empty if nothing is sealed)."""
        if op.sealed is None:
            return {}
        if op.key_id != self.key_id:
            raise WrongKey(
                f"an op was sealed with key {op.key_id}, but this machine's key is "
                f"{self.key_id}: set MEMORY_ENCRYPTION_KEY to the same value on every machine "
                "and restart memoryd"
            )
        try:
            blob = base64.b64decode(op.sealed, validate=True)
        except (binascii.Error, ValueError):
            raise BadEnvelope(f"op {op.op_id}: sealed body is not base64") from None
        if len(blob) < 1 + _NONCE + 16 or blob[0] != SEAL_V1:
            raise BadEnvelope(f"op {op.op_id}: sealed body has an unknown format")
        try:
            plain = self._aead.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], aad(op.header))
        except InvalidTag:
            raise BadEnvelope(f"op {op.op_id}: sealed body does not match its header") from None
        values = json.loads(plain)
        if not isinstance(values, dict):
            raise BadEnvelope(f"op {op.op_id}: sealed body is not an object")
        return values


def build_op(
    *,
    replica_id: str,
    replica_seq: int,
    op_id: str,
    entity_id: str,
    hlc: int,
    kind: Kind,
    plain: dict[str, Any],
    secret: dict[str, Any],
    cipher: SyncCipher | None,
) -> Op:
    """An op whose `plain` values travel as they are and whose `secret` values are sealed."""
    if secret and cipher is None:
        raise ValueError("sealing needs a key")
    mask = sorted({*plain, *secret})
    unknown = set(mask) - set(FIELDS)
    if unknown:
        raise ValueError(f"not synced fields: {sorted(unknown)}")
    header = OpHeader(
        replica_id=replica_id,
        replica_seq=replica_seq,
        op_id=op_id,
        entity_id=entity_id,
        hlc=hlc,
        kind=kind,
        field_mask=mask,
        key_id=cipher.key_id if secret and cipher is not None else None,
    )
    sealed = cipher.seal(header, secret) if secret and cipher is not None else None
    return Op(**header.model_dump(), fields=plain, sealed=sealed)


def open_op(op: Op, cipher: SyncCipher | None) -> dict[str, Any]:
    """Every field value of `op`, plaintext and unsealed together."""
    if op.sealed is None:
        return dict(op.fields)
    if cipher is None:
        raise WrongKey(
            "an op is sealed with the user's key, but MEMORY_ENCRYPTION_KEY is not set on "
            "this machine: set it to the same value as on your other machines"
        )
    values = cipher.open(op)
    if set(values) | set(op.fields) != set(op.field_mask) or set(values) & set(op.fields):
        raise BadEnvelope(f"op {op.op_id}: body does not match field_mask")
    return {**op.fields, **values}
