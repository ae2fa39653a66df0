"""Pure properties: the HLC, the join, and the sealed envelope."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memory_core.errors import BadEnvelope, WrongKey
from memory_core.hlc import HLC, pack, unpack
from memory_core.merge import canonical, wins
from memory_core.wire.sync import Op
from memoryd.sync.envelope import SyncCipher, build_op, open_op
from tests.conftest import FakeClock

KEY = bytes(range(32))
REPLICA = "0123456789abcdef0123456789abcdef"
ENTITY = "01890000-0000-7000-8000-0000000000bb"


# ---------------------------------------------------------------------------------- HLC


@given(st.lists(st.integers(-10_000_000, 10_000_000), min_size=1, max_size=200))
def test_send_strictly_increases_whatever_the_wall_clock_does(steps: list[int]) -> None:
    hlc = HLC(FakeClock(steps=steps))
    stamps = [hlc.send() for _ in steps]
    assert all(b > a for a, b in itertools.pairwise(stamps))


@given(st.integers(0, 1 << 40), st.integers(0, 1 << 62), st.integers(-(10**9), 10**9))
def test_recv_exceeds_both_the_remote_and_the_previous(last: int, remote: int, step: int) -> None:
    hlc = HLC(FakeClock(steps=[step]), last=last)
    got = hlc.recv(remote)
    assert got > remote and got > last


@given(
    st.integers(0, 1 << 46), st.integers(0, 0xFFFF), st.integers(0, 1 << 46), st.integers(0, 0xFFFF)
)
def test_packing_preserves_order(w1: int, c1: int, w2: int, c2: int) -> None:
    assert (pack(w1, c1) < pack(w2, c2)) == ((w1, c1) < (w2, c2))
    assert unpack(pack(w1, c1)) == (w1, c1)


def test_counter_overflow_borrows_the_next_millisecond() -> None:
    clock = FakeClock()
    hlc = HLC(clock, last=pack(clock.ms + 5, 0xFFFF))
    assert unpack(hlc.send()) == (clock.ms + 6, 0)


# --------------------------------------------------------------------------------- join
# A state: entity -> ("del", hlc) or {field: (hlc, value)}; ops are small states. `join` is
# the model of MemoryStore.apply_remote (the state machine checks the real one against it).

Value = st.one_of(st.text(max_size=3), st.integers(0, 3), st.none())
FieldOp = st.tuples(st.sampled_from(["content", "tags"]), st.integers(0, 5), Value)
AnOp = st.one_of(
    st.tuples(st.just("put"), st.sampled_from("xy"), st.lists(FieldOp, min_size=1, max_size=2)),
    st.tuples(st.just("del"), st.sampled_from("xy"), st.integers(0, 5)),
)


def apply(state: dict[str, Any], op: Any) -> dict[str, Any]:
    kind, entity, body = op
    out = {k: (v if v == "deleted" else dict(v)) for k, v in state.items()}
    if kind == "del" or out.get(entity) == "deleted":
        out[entity] = "deleted"
        return out
    fields = out.setdefault(entity, {})
    for name, hlc, value in body:
        have = fields.get(name)
        if have is None or wins(hlc, value, have[0], have[1]):
            fields[name] = (hlc, value)
    return out


def join(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = a
    for entity, value in b.items():
        if value == "deleted":
            out = apply(out, ("del", entity, 0))
        else:
            out = apply(out, ("put", entity, [(n, h, v) for n, (h, v) in value.items()]))
    return out


def fold(ops: list[Any]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for op in ops:
        state = apply(state, op)
    return state


States = st.lists(AnOp, max_size=6).map(fold)


@given(States, States)
def test_join_is_commutative(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert join(a, b) == join(b, a)


@given(States, States, States)
def test_join_is_associative(a: dict[str, Any], b: dict[str, Any], c: dict[str, Any]) -> None:
    assert join(join(a, b), c) == join(a, join(b, c))


@given(States)
def test_join_is_idempotent(a: dict[str, Any]) -> None:
    assert join(a, a) == a


@given(States, st.sampled_from("xy"), st.integers(0, 5), States)
def test_delete_is_absorbing(a: dict[str, Any], entity: str, hlc: int, b: dict[str, Any]) -> None:
    assert join(apply(a, ("del", entity, hlc)), b)[entity] == "deleted"


@settings(max_examples=60)
@given(st.lists(AnOp, min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_any_order_with_duplicates_folds_alike(ops: list[Any], rnd: Any) -> None:
    expected = fold(ops)
    for _ in range(5):
        shuffled = ops + [rnd.choice(ops) for _ in range(3)]
        rnd.shuffle(shuffled)
        assert fold(shuffled) == expected


def test_equal_hlcs_break_ties_on_the_value() -> None:
    assert wins(5, "b", 5, "a") and not wins(5, "a", 5, "b")
    assert canonical({"b": 1, "a": 2}) == canonical({"a": 2, "b": 1})


# ----------------------------------------------------------------------------- envelope


def _op(cipher: SyncCipher, **over: Any) -> Op:
    args: dict[str, Any] = {
        "replica_id": REPLICA,
        "replica_seq": 3,
        "op_id": "01890000-0000-7000-8000-0000000000aa",
        "entity_id": ENTITY,
        "hlc": pack(1_700_000_000_000, 1),
        "kind": "put",
        "plain": {"tags": ["x"]},
        "secret": {"content": "token hvs.secret"},
        "cipher": cipher,
    }
    args.update(over)
    return build_op(**args)


@given(st.text(max_size=50), st.lists(st.text(max_size=5), max_size=3))
def test_envelope_round_trip(content: str, tags: list[str]) -> None:
    cipher = SyncCipher(KEY)
    op = _op(cipher, secret={"content": content}, plain={"tags": tags})
    assert open_op(Op.model_validate_json(op.model_dump_json()), cipher) == {
        "content": content,
        "tags": tags,
    }


@pytest.mark.parametrize(
    "change",
    [
        {"replica_id": "f" * 32},
        {"replica_seq": 4},
        {"op_id": "01890000-0000-7000-8000-0000000000ab"},
        {"entity_id": "01890000-0000-7000-8000-0000000000bc"},
        {"hlc": pack(1_700_000_000_000, 2)},
        {"field_mask": ["content", "importance", "tags"], "fields": {"tags": [], "importance": 1}},
    ],
)
def test_tampering_any_header_field_fails(change: dict[str, Any]) -> None:
    cipher = SyncCipher(KEY)
    forged = Op.model_validate({**_op(cipher).model_dump(), **change})
    with pytest.raises(BadEnvelope):
        open_op(forged, cipher)


def test_a_flipped_ciphertext_bit_fails() -> None:
    cipher = SyncCipher(KEY)
    op = _op(cipher)
    raw = bytearray(base64.b64decode(op.sealed or ""))
    raw[-1] ^= 1
    forged = Op.model_validate({**op.model_dump(), "sealed": base64.b64encode(raw).decode()})
    with pytest.raises(BadEnvelope):
        open_op(forged, cipher)


def test_wrong_key_is_named() -> None:
    op = _op(SyncCipher(KEY))
    with pytest.raises(WrongKey, match="MEMORY_ENCRYPTION_KEY"):
        open_op(op, SyncCipher(b"\x07" * 32))
    with pytest.raises(WrongKey, match="MEMORY_ENCRYPTION_KEY"):
        open_op(op, None)


GOLDEN = (
    '{"v":1,"replica_id":"0123456789abcdef0123456789abcdef","replica_seq":3,'
    '"op_id":"01890000-0000-7000-8000-0000000000aa","entity_id":'
    '"01890000-0000-7000-8000-0000000000bb","hlc":111411200000000001,"kind":"put",'
    '"field_mask":["content","tags"],"key_id":"KEYID","fields":{"tags":["x"]},'
    '"sealed":"SEALED"}'
)


def test_golden_ciphertext_still_opens() -> None:
    """A ciphertext sealed by this version must open in every later one."""
    cipher = SyncCipher(KEY)
    frozen = GOLDEN.replace("KEYID", cipher.key_id).replace(
        "SEALED",
        "AdYCIBGrcoIAn0Zf0kriV4OHhObpgilAct9UyXk5GLJmNOGT5jLvwrx4DdrAxbCfG4Ai+i1aX/DQVK0=",
    )
    assert open_op(Op.model_validate_json(frozen), cipher) == {
        "content": "token hvs.secret",
        "tags": ["x"],
    }
