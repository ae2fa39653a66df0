"""The sync wire format: the AAD encoding is frozen, and malformed ops are refused."""

from __future__ import annotations

import pydantic
import pytest

from memory_core.wire.sync import MAX_PUSH_OPS, Op, PushRequest, aad

REPLICA = "0123456789abcdef0123456789abcdef"
OP_ID = "01890000-0000-7000-8000-0000000000aa"
ENTITY = "01890000-0000-7000-8000-0000000000bb"


def _op(**overrides: object) -> Op:
    base: dict[str, object] = {
        "replica_id": REPLICA,
        "replica_seq": 7,
        "op_id": OP_ID,
        "entity_id": ENTITY,
        "hlc": (1_700_000_000_000 << 16) | 3,
        "kind": "put",
        "field_mask": ["content", "tags"],
        "fields": {"content": "hello", "tags": ["a"]},
    }
    base.update(overrides)
    return Op.model_validate(base)


def test_aad_golden_bytes_are_stable() -> None:
    expected = (
        b"memoryd/sync-op/v1\n"
        b'[1,"0123456789abcdef0123456789abcdef",7,"01890000-0000-7000-8000-0000000000aa",'
        b'"01890000-0000-7000-8000-0000000000bb",111411200000000003,"put",'
        b'["content","tags"],null]'
    )
    assert aad(_op().header) == expected


def test_aad_changes_with_every_header_field() -> None:
    base = aad(_op().header)
    variants = [
        {"replica_id": "f" * 32},
        {"replica_seq": 8},
        {"op_id": OP_ID[:-2] + "ab"},
        {"entity_id": ENTITY[:-2] + "bc"},
        {"hlc": 1},
        {"field_mask": ["content"], "fields": {"content": "hello"}},
        {"key_id": "0" * 16, "sealed": "AAAA"},
    ]
    for change in variants:
        assert aad(_op(**change).header) != base, change


@pytest.mark.parametrize(
    "change",
    [
        {"field_mask": ["tags", "content"]},  # unsorted
        {"field_mask": ["content", "password"], "fields": {"content": "x", "password": "y"}},
        {"kind": "del"},  # a del with fields
        {"fields": {"content": "x"}},  # tags neither plaintext nor sealed
        {"sealed": "AAAA"},  # sealed without key_id
        {"replica_id": "not-hex"},
        {"hlc": -1},
        {"fields": {"content": "x" * 70_000, "tags": []}},
    ],
)
def test_malformed_ops_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        _op(**change)


def test_push_request_bounds_and_single_replica() -> None:
    with pytest.raises(pydantic.ValidationError):
        PushRequest(replica_id=REPLICA, ops=[])
    with pytest.raises(pydantic.ValidationError):
        PushRequest(replica_id="e" * 32, ops=[_op()])
    with pytest.raises(pydantic.ValidationError):
        PushRequest(replica_id=REPLICA, ops=[_op()] * (MAX_PUSH_OPS + 1))
    assert PushRequest(replica_id=REPLICA, ops=[_op()]).ops[0].fields["content"] == "hello"


def test_end_to_end_flag() -> None:
    sealed = _op(fields={}, key_id="0" * 16, sealed="AAAA")
    assert sealed.end_to_end
    assert not _op().end_to_end
