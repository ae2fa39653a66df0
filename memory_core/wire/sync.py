"""The sync wire format between memoryd replicas and the hub: the one definition of it.

An *op* is one change to one memory. Its header is plaintext (the hub orders, deduplicates and
compacts with it) and is also the associated data of every ciphertext in the op, so a hub that
cannot read a body can neither move it to another memory nor re-date nor re-kind it.

    header  v, replica_id, replica_seq, op_id, entity_id, hlc, kind, field_mask, key_id
    body    fields  plaintext JSON values of some fields in field_mask
            sealed  base64 of AEAD(JSON object of the other fields), or null

Default mode: a put carries its fields in plaintext, except the content of a sensitive memory,
which is always sealed with the user's key. End-to-end mode: every field is sealed and
`fields` is empty. A `del` has no body. The user is the one the bearer key authenticates:
nothing in an op names a user, and the hub never takes one from a body.

Endpoints (on the hub, bearer key in `Authorization`):
    POST PUSH_PATH   PushRequest -> PushResponse; 422 clock_skew / invalid_op, 409
                     replica_collision / op_collision, 413 too large, 401 bad key
    GET  PULL_PATH   ?after=<seq>&limit=<n> -> PullResponse
Errors are `{"error": {"code", "message", ...}}` (SyncError). docs/sync.md is the prose.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

FORMAT_VERSION = 1
PUSH_PATH = "/api/sync/push"
PULL_PATH = "/api/sync/pull"

# The hub's default push limits (HUB_MAX_PUSH_OPS, HUB_MAX_PUSH_BYTES; an operator may lower
# them): a replica sizes its pages to fit both, and halves a page the hub still answers 413.
# Pages are sized by bytes: the op count is high enough that only ops under ~840 bytes meet
# it, so a page carries ~4 MiB whatever the memories' length. (Hubs before issue 20 allowed
# 500 ops: a replica's first page to one is refused with 413 and halved down to fit, once.)
MAX_PUSH_OPS = 5000  # ops per push request
MAX_PUSH_BYTES = 4 * 1024 * 1024  # a whole push request body, encoded
MAX_OP_BODY_BYTES = 64 * 1024  # encoded `fields` + `sealed` of one op
# A pull page: at most `limit` ops (up to MAX_PULL_LIMIT, every hub's cap) and, from hubs since
# issue 20, about MAX_PULL_BYTES of op bodies: the page is cut after the op that passes it.
DEFAULT_PULL_LIMIT = 1000
MAX_PULL_LIMIT = 1000
MAX_PULL_BYTES = 4 * 1024 * 1024
MAX_FUTURE_SKEW_MS = 10 * 60 * 1000  # the hub refuses ops stamped further ahead than this

# Fields a put may carry. All but created_ms are last-writer-wins registers keyed by the op's
# HLC; created_ms is write-once (a replica keeps the smallest value it has seen).
LWW_FIELDS = (
    "category",
    "content",
    "expanded_keywords",
    "importance",
    "is_sensitive",
    "links",
    "project",
    "source",
    "supersedes",
    "tags",
)
FIELDS = (*LWW_FIELDS, "created_ms")

_HEX32 = r"^[0-9a-f]{32}$"
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
ReplicaId = Annotated[str, StringConstraints(pattern=_HEX32)]
OpId = Annotated[str, StringConstraints(pattern=_UUID)]
EntityId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f-]{4,36}$")]
KeyId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
Kind = Literal["put", "del"]
HLCValue = Annotated[int, Field(ge=0, lt=1 << 63)]
Seq = Annotated[int, Field(ge=0, lt=1 << 63)]

AAD_PREFIX = b"memoryd/sync-op/v1\n"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpHeader(_Model):
    v: Literal[1] = 1
    replica_id: ReplicaId
    replica_seq: Annotated[int, Field(ge=1, lt=1 << 63)]
    op_id: OpId
    entity_id: EntityId
    hlc: HLCValue
    kind: Kind
    field_mask: list[str] = Field(default_factory=list, max_length=len(FIELDS))
    key_id: KeyId | None = None  # fingerprint of the key that sealed the body; null: no seal

    @model_validator(mode="after")
    def _mask(self) -> OpHeader:
        if self.field_mask != sorted(set(self.field_mask)):
            raise ValueError("field_mask must be sorted and without repeats")
        unknown = set(self.field_mask) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown fields in field_mask: {sorted(unknown)}")
        if self.kind == "del" and self.field_mask:
            raise ValueError("a del carries no fields")
        if self.kind == "put" and not self.field_mask:
            raise ValueError("a put changes at least one field")
        return self


def aad(header: OpHeader) -> bytes:
    """The canonical encoding of a header, used as AEAD associated data. Frozen by a golden
    test: changing it makes every stored ciphertext unreadable, so bump `v` instead."""
    values = [
        header.v,
        header.replica_id,
        header.replica_seq,
        header.op_id,
        header.entity_id,
        header.hlc,
        header.kind,
        header.field_mask,
        header.key_id,
    ]
    return AAD_PREFIX + json.dumps(values, separators=(",", ":"), ensure_ascii=True).encode()


class Op(OpHeader):
    """A header plus its body. `fields` and the sealed object partition `field_mask`."""

    fields: dict[str, Any] = Field(default_factory=dict)
    sealed: str | None = None  # base64: version byte, nonce, ciphertext + tag

    @model_validator(mode="after")
    def _body(self) -> Op:
        if self.kind == "del" and (self.fields or self.sealed is not None):
            raise ValueError("a del has no body")
        if not set(self.fields) <= set(self.field_mask):
            raise ValueError("fields outside field_mask")
        if self.sealed is None and set(self.fields) != set(self.field_mask):
            raise ValueError("fields in field_mask are neither plaintext nor sealed")
        if self.sealed is not None and self.key_id is None:
            raise ValueError("a sealed body needs key_id")
        if self.sealed is not None:
            try:
                base64.b64decode(self.sealed, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("sealed is not base64") from None
        if body_bytes(self) > MAX_OP_BODY_BYTES:
            raise ValueError(f"op body is over {MAX_OP_BODY_BYTES} bytes")
        return self

    @property
    def header(self) -> OpHeader:
        return OpHeader.model_validate(self.model_dump(include=set(OpHeader.model_fields)))

    @property
    def end_to_end(self) -> bool:
        """A put whose every field is sealed: the hub cannot materialise it."""
        return self.kind == "put" and not self.fields and self.sealed is not None


# Configured once, never changed (json.dumps with options builds an encoder per call).
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def body_bytes(op: Op) -> int:
    encoded = _COMPACT.encode(op.fields).encode()
    return len(encoded) + len(op.sealed or "")


# ------------------------------------------------------------------------------------- push


class PushRequest(_Model):
    replica_id: ReplicaId  # must equal every op's replica_id
    ops: list[Op] = Field(min_length=1, max_length=MAX_PUSH_OPS)

    @model_validator(mode="after")
    def _one_replica(self) -> PushRequest:
        if any(op.replica_id != self.replica_id for op in self.ops):
            raise ValueError("every op must carry the request's replica_id")
        return self


# `{"replica_id":"<32 hex>","ops":[]}`: a push body without its ops.
_PUSH_FRAME_BYTES = len('{"replica_id":"","ops":[]}') + 32


def ops_that_fit(op_bytes: list[int], max_bytes: int = MAX_PUSH_BYTES) -> int:
    """How many of the leading ops, encoded in `op_bytes` bytes each (as `model_dump_json`
    writes them), make a push body of at most `max_bytes`; at least one, so that an op too
    large on its own is still sent, and the hub's 413 names it."""
    total = _PUSH_FRAME_BYTES
    for count, size in enumerate(op_bytes):
        total += size + (count > 0)  # the comma between ops
        if total > max_bytes:
            return max(count, 1)
    return len(op_bytes)


def push_body(replica_id: str, envelopes: list[str]) -> bytes:
    """A PushRequest's encoding from ops already encoded (`model_dump_json`), as a replica
    keeps them queued: the same bytes as `PushRequest(...).model_dump_json()`, without parsing
    and validating every op again."""
    return f'{{"replica_id":"{replica_id}","ops":[{",".join(envelopes)}]}}'.encode()


AckStatus = Literal["inserted", "duplicate", "obsolete"]


class Ack(_Model):
    """`inserted`: new, at `seq`. `duplicate`: seen before (same op_id and body), at its
    original `seq`. `obsolete`: accepted, but its memory is already deleted, so it will never
    be delivered; `seq` is null."""

    op_id: OpId
    status: AckStatus
    seq: Seq | None


class PushResponse(_Model):
    acks: list[Ack]  # one per op, in request order
    head_seq: Seq
    server_time: int  # the hub's wall clock, ms since the epoch


# ------------------------------------------------------------------------------------- pull


class PulledOp(Op):
    seq: Seq


class PullResponse(_Model):
    ops: list[PulledOp]  # seq > after, ascending
    next_after: Seq  # the cursor to send next (the last op's seq, or `after` if none)
    has_more: bool
    head_seq: Seq
    server_time: int


# ------------------------------------------------------------------------------------ errors


class SyncErrorBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str  # the codes and their statuses: docs/sync.md ("Errors") and docs/hub.md
    message: str
    server_time: int | None = None  # always set for clock_skew
    op_ids: list[str] = Field(default_factory=list)  # the offending ops, if any


class SyncError(BaseModel):
    """A push or pull that was refused. The whole request is rolled back: no partial acks."""

    model_config = ConfigDict(extra="ignore")

    error: SyncErrorBody
