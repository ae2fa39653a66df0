"""The per-user op log: push (idempotent, ordered by a per-user counter row), pull, and the
materialised `memories` table that REST reads, kept by joining each op into it.

Every function runs inside a `user_tx` and takes the user explicitly: each statement filters
on it, and row-level security backs that up.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from memory_core import merge
from memory_core.errors import ClockSkew, InvalidInput, InvalidOp, OpCollision, ReplicaCollision
from memory_core.hlc import check_remote, pack, wall_ms
from memory_core.model import SYNCED_FIELDS, Memory
from memory_core.wire import sync
from memory_hub.limits import Bucket, Limits


@dataclass
class UserRow:
    next_seq: int
    hlc: int
    replica_seq: int
    end_to_end: bool
    ops: Bucket  # the user's ops-per-minute bucket (memory_hub.limits)


async def lock_user(conn: asyncpg.Connection, user: str) -> UserRow:
    """Create the user's counter row if needed and lock it until commit: every write of one
    user is serialised here, so sequence order equals commit order (and the rate bucket the
    row holds is spent by one write at a time, whichever instance runs it)."""
    row = await conn.fetchrow(
        "INSERT INTO hub_users (user_id) VALUES ($1) ON CONFLICT (user_id) "
        "DO UPDATE SET user_id = EXCLUDED.user_id "
        "RETURNING next_seq, hlc, replica_seq, end_to_end, ops_tokens, ops_stamp_ms",
        user,
    )
    assert row is not None
    bucket = Bucket(row["ops_tokens"], row["ops_stamp_ms"])
    return UserRow(row["next_seq"], row["hlc"], row["replica_seq"], row["end_to_end"], bucket)


async def save_user(conn: asyncpg.Connection, user: str, state: UserRow) -> None:
    await conn.execute(
        "UPDATE hub_users SET next_seq = $2, hlc = $3, replica_seq = $4, end_to_end = $5, "
        "ops_tokens = $6, ops_stamp_ms = $7 WHERE user_id = $1",
        user,
        state.next_seq,
        state.hlc,
        state.replica_seq,
        state.end_to_end,
        state.ops.tokens,
        state.ops.stamp_ms,
    )


async def head_seq(conn: asyncpg.Connection, user: str) -> int:
    value = await conn.fetchval("SELECT next_seq FROM hub_users WHERE user_id = $1", user)
    return int(value or 0)


def body_hash(op: sync.Op) -> bytes:
    canonical = merge.canonical(op.fields)
    return hashlib.sha256(canonical.encode() + b"\0" + (op.sealed or "").encode()).digest()


def next_hlc(state: UserRow, now_ms: int) -> int:
    state.hlc = max(pack(now_ms, 0), state.hlc + 1)
    return state.hlc


# ----------------------------------------------------------------------- materialised view


def refused(op: sync.Op) -> str | None:
    """Why the hub refuses an op's plaintext values, by the daemon's own rule for applying
    them (memory_core.merge.check_remote_fields), or None."""
    try:
        check_remote(op.hlc)
        merge.check_remote_fields(op.fields)
    except InvalidInput as exc:
        return exc.message
    return None


_MEMORY_COLUMNS = (
    "id, content, secret, category, tags, expanded_keywords, importance, is_sensitive, "
    "project, source, created_ms, updated_ms, deleted_ms, clocks, supersedes, num, links"
)
# One statement per page, whatever its size: the rows travel as parallel arrays (text[] for
# the JSON values and the tags, cast back in SQL), so the page costs one round trip and one
# plan instead of one execution per row. `num` is written by the insert only: a memory's
# integer id never changes.
_UPSERT = (
    "INSERT INTO memories (user_id, id, content, secret, category, tags, expanded_keywords, "
    "importance, is_sensitive, project, source, created_ms, updated_ms, clocks, supersedes, "
    "num, links) "
    "SELECT $1, r.id, r.content, r.secret, r.category, "
    "ARRAY(SELECT jsonb_array_elements_text(r.tags::jsonb)), r.keywords, r.importance, "
    "r.sensitive, r.project, r.source, r.created_ms, r.updated_ms, r.clocks::jsonb, "
    "r.supersedes, r.num, r.links::jsonb "
    "FROM unnest($2::text[], $3::text[], $4::bytea[], $5::text[], $6::text[], $7::text[], "
    "$8::float8[], $9::bool[], $10::text[], $11::text[], $12::bigint[], $13::bigint[], "
    "$14::text[], $15::text[], $16::bigint[], $17::text[]) "
    "AS r(id, content, secret, category, tags, keywords, importance, sensitive, project, "
    "source, created_ms, updated_ms, clocks, "
    "supersedes, num, links) "
    "ON CONFLICT (user_id, id) DO UPDATE SET content = EXCLUDED.content, "
    "secret = EXCLUDED.secret, category = EXCLUDED.category, tags = EXCLUDED.tags, "
    "expanded_keywords = EXCLUDED.expanded_keywords, importance = EXCLUDED.importance, "
    "is_sensitive = EXCLUDED.is_sensitive, project = EXCLUDED.project, "
    "source = EXCLUDED.source, created_ms = EXCLUDED.created_ms, "
    "updated_ms = EXCLUDED.updated_ms, clocks = EXCLUDED.clocks, "
    "supersedes = EXCLUDED.supersedes, links = EXCLUDED.links"
)


def _fresh() -> dict[str, Any]:
    blank = Memory.blank("")
    values = {name: getattr(blank, name) for name in SYNCED_FIELDS}
    return {**values, "secret": None, "deleted_ms": None, "clocks": {}, "num": None, "new": True}


def fold(values: dict[str, Any], op: sync.Op) -> None:
    """Join one put into a row's values with memory_core.merge.join, the daemon's join. Pure,
    so a batch folds in memory. A sealed value (a sensitive memory's content, sealed by a
    replica) is unreadable here and joins as null: such a memory's content is never shown or
    indexed by the hub, whichever sealed value wins."""
    clocks: dict[str, list[Any]] = dict(values["clocks"])
    seen = None
    if not values["new"]:
        seen = merge.Seen(
            values=values,
            clocks={name: int(clock[0]) for name, clock in clocks.items()},
            created_ms=values["created_ms"],
            updated_ms=values["updated_ms"],
        )
    joined = merge.join(seen, op.hlc, {name: op.fields.get(name) for name in op.field_mask})
    for name, value in joined.winners.items():
        values[name] = value
        clocks[name] = [op.hlc, op.replica_id]  # the replica: provenance, not a tie-break
    if "content" in joined.winners:
        values["secret"] = None  # the hub's own seal of an older content
    if values["is_sensitive"]:
        values["content"] = None  # never index a sensitive memory's text
    values["created_ms"], values["updated_ms"] = joined.created_ms, joined.updated_ms
    values["clocks"] = clocks
    values["new"] = False


def _upsert_columns(rows: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """`_UPSERT`'s arrays ($2 …) for the joined rows, by entity id."""
    return [
        list(rows),
        [v["content"] for v in rows.values()],
        [v["secret"] for v in rows.values()],
        [v["category"] for v in rows.values()],
        [json.dumps(list(v["tags"])) for v in rows.values()],
        [v["expanded_keywords"] for v in rows.values()],
        [float(v["importance"]) for v in rows.values()],
        [v["is_sensitive"] for v in rows.values()],
        [v["project"] for v in rows.values()],
        [v["source"] for v in rows.values()],
        [v["created_ms"] for v in rows.values()],
        [v["updated_ms"] for v in rows.values()],
        [json.dumps(v["clocks"]) for v in rows.values()],
        [v["supersedes"] for v in rows.values()],
        [v["num"] for v in rows.values()],
        [json.dumps(v["links"]) for v in rows.values()],
    ]


async def _rows(
    conn: asyncpg.Connection, user: str, entities: list[str]
) -> dict[str, dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE user_id = $1 AND id = ANY($2::text[]) "
        "FOR UPDATE",
        user,
        entities,
    )
    return {r["id"]: {**dict(r), "new": False} for r in rows}


async def materialise(conn: asyncpg.Connection, user: str, ops: list[sync.Op]) -> None:
    """Join puts into the user's `memories` rows. End-to-end puts carry nothing readable."""
    puts = [op for op in ops if op.kind == "put" and not op.end_to_end]
    if not puts:
        return
    rows = await _rows(conn, user, sorted({op.entity_id for op in puts}))
    touched: dict[str, dict[str, Any]] = {}
    for op in puts:
        values = rows.get(op.entity_id) or touched.get(op.entity_id) or _fresh()
        if values["deleted_ms"] is not None:
            continue
        fold(values, op)
        touched[op.entity_id] = values
    await number_new(conn, user, [v for e, v in touched.items() if e not in rows])
    await conn.execute(_UPSERT, user, *_upsert_columns(touched))


async def number_new(conn: asyncpg.Connection, user: str, fresh: list[dict[str, Any]]) -> None:
    """Give new memories the user's next integer ids, in order. One UPDATE takes the whole
    block from `hub_users.next_num`; its row lock serialises concurrent writers of the user."""
    if not fresh:
        return
    last = await conn.fetchval(
        "UPDATE hub_users SET next_num = next_num + $2 WHERE user_id = $1 RETURNING next_num",
        user,
        len(fresh),
    )
    assert last is not None, "the user's row is created by lock_user before any write"
    for offset, values in enumerate(fresh):
        values["num"] = int(last) - len(fresh) + 1 + offset


async def bury(conn: asyncpg.Connection, user: str, op: sync.Op, seq: int, at_ms: int) -> None:
    """A delete is terminal: record the tombstone, wipe the row's content, and purge the
    entity's earlier ops from the log so their bodies leave the server."""
    await conn.execute(
        "INSERT INTO tombstones (user_id, entity_id, hlc, seq) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (user_id, entity_id) DO NOTHING",
        user,
        op.entity_id,
        op.hlc,
        seq,
    )
    await conn.execute(
        "UPDATE memories SET content = NULL, secret = NULL, expanded_keywords = '', tags = '{}', "
        "links = '[]', "
        "deleted_ms = $3, updated_ms = GREATEST(updated_ms, $3) "
        "WHERE user_id = $1 AND id = $2",
        user,
        op.entity_id,
        at_ms,
    )
    await conn.execute(
        "DELETE FROM ops WHERE user_id = $1 AND entity_id = $2 AND kind = 'put'",
        user,
        op.entity_id,
    )


# ----------------------------------------------------------------------------------- append

# A page of ops in one statement, as parallel arrays (see `_UPSERT`). Not COPY: COPY FROM is
# refused on tables under row-level security.
_INSERT_OPS = (
    "INSERT INTO ops (user_id, seq, op_id, replica_id, replica_seq, entity_id, hlc, kind, "
    "field_mask, key_id, fields, sealed, body_hash) "
    "SELECT $1, o.seq, o.op_id, o.replica_id, o.replica_seq, o.entity_id, o.hlc, o.kind, "
    "ARRAY(SELECT jsonb_array_elements_text(o.mask::jsonb)), o.key_id, o.fields::jsonb, "
    "o.sealed, o.body_hash FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::bigint[], "
    "$6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[], "
    "$12::bytea[], $13::bytea[]) AS o(seq, op_id, replica_id, replica_seq, entity_id, hlc, "
    "kind, mask, key_id, fields, sealed, body_hash)"
)


async def append_many(
    conn: asyncpg.Connection, user: str, state: UserRow, ops: list[sync.Op], at_ms: int
) -> list[sync.Ack]:
    """Append a batch (the user row is locked by the caller) with a fixed number of round
    trips: what is known is read up front, new ops are inserted together."""
    known = {
        r["op_id"]: (r["seq"], bytes(r["body_hash"]))
        for r in await conn.fetch(
            "SELECT op_id::text AS op_id, seq, body_hash FROM ops "
            "WHERE user_id = $1 AND op_id = ANY($2::uuid[])",
            user,
            [op.op_id for op in ops],
        )
    }
    buried = {
        r["entity_id"]
        for r in await conn.fetch(
            "SELECT entity_id FROM tombstones WHERE user_id = $1 AND entity_id = ANY($2::text[])",
            user,
            sorted({op.entity_id for op in ops}),
        )
    }
    used = {
        (r["replica_id"], r["replica_seq"]): r["op_id"]
        for r in await conn.fetch(
            "SELECT replica_id, replica_seq, op_id::text AS op_id FROM ops WHERE user_id = $1 "
            "AND (replica_id, replica_seq) IN "
            "(SELECT * FROM unnest($2::text[], $3::bigint[]))",
            user,
            [op.replica_id for op in ops],
            [op.replica_seq for op in ops],
        )
    }
    acks: list[sync.Ack] = []
    rows: list[tuple[Any, ...]] = []
    inserted: list[sync.Op] = []
    deletes: list[tuple[sync.Op, int]] = []
    for op in ops:
        digest = body_hash(op)
        if op.op_id in known:
            seq, seen = known[op.op_id]
            if seen != digest:
                raise OpCollision(
                    f"op {op.op_id} was already pushed with a different body", op_ids=[op.op_id]
                )
            acks.append(sync.Ack(op_id=op.op_id, status="duplicate", seq=seq))
            continue
        if op.entity_id in buried:
            acks.append(sync.Ack(op_id=op.op_id, status="obsolete", seq=None))
            continue
        clash = used.get((op.replica_id, op.replica_seq))
        if clash is not None and clash != op.op_id:
            raise ReplicaCollision(
                f"replica {op.replica_id} already used replica_seq {op.replica_seq} for another "
                "op; another database uses this replica id",
                op_ids=[op.op_id],
            )
        state.next_seq += 1
        seq = state.next_seq
        known[op.op_id] = (seq, digest)
        used[(op.replica_id, op.replica_seq)] = op.op_id
        sealed = base64.b64decode(op.sealed) if op.sealed is not None else None
        rows.append(
            (
                seq,
                op.op_id,
                op.replica_id,
                op.replica_seq,
                op.entity_id,
                op.hlc,
                op.kind,
                json.dumps(op.field_mask),
                op.key_id,
                json.dumps(op.fields),
                sealed,
                digest,
            )
        )
        state.hlc = max(state.hlc, op.hlc)
        if op.end_to_end:
            state.end_to_end = True
        if op.kind == "del":
            buried.add(op.entity_id)
            deletes.append((op, seq))
        else:
            inserted.append(op)
        acks.append(sync.Ack(op_id=op.op_id, status="inserted", seq=seq))
    if rows:
        await conn.execute(_INSERT_OPS, user, *[list(column) for column in zip(*rows, strict=True)])
    await materialise(
        conn, user, [op for op in inserted if op.entity_id not in {d.entity_id for d, _ in deletes}]
    )
    for op, seq in deletes:
        await bury(conn, user, op, seq, at_ms)
    return acks


def check_ops(ops: list[sync.Op], now_ms: int, max_skew_ms: int, hub_replica: str) -> None:
    ahead = [op.op_id for op in ops if wall_ms(op.hlc) > now_ms + max_skew_ms]
    if ahead:
        raise ClockSkew(
            f"{len(ahead)} op(s) are stamped more than {max_skew_ms // 1000} s ahead of the "
            "hub's clock; check this machine's clock. They stay queued.",
            server_time=now_ms,
            op_ids=ahead,
        )
    reasons = {op.op_id: reason for op in ops if (reason := refused(op)) is not None}
    if reasons:
        first, why = next(iter(reasons.items()))
        raise InvalidOp(f"invalid op {first}: {why}", op_ids=list(reasons))
    if any(op.replica_id == hub_replica for op in ops):
        raise ReplicaCollision(
            "this replica id is the hub's own; mint a new one", op_ids=[ops[0].op_id]
        )


async def push(
    conn: asyncpg.Connection, user: str, ops: list[sync.Op], now_ms: int, limits: Limits
) -> tuple[list[sync.Ack], int]:
    state = await lock_user(conn, user)
    limits.spend_ops(user, state.ops, len(ops))
    # Over a quota, the whole push rolls back.
    async with limits.storage(conn, user, all(op.kind == "del" for op in ops)):
        acks = await append_many(conn, user, state, ops, now_ms)
    await save_user(conn, user, state)
    return acks, state.next_seq
