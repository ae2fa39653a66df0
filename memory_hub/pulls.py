"""The per-user op log, read: pages of ops after a cursor, cut by bytes, without the
puller's own ops. Runs inside a `user_tx`, the user explicit in every statement."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import asyncpg

from memory_core.wire import sync
from memory_hub.oplog import head_seq

# The op's fields that its columns hold as they are (the mask is an array, `sealed` bytes).
_AS_STORED = ("seq", "replica_id", "replica_seq", "op_id", "entity_id", "hlc", "kind", "key_id")


def pulled(row: asyncpg.Record) -> sync.PulledOp:
    """An op as stored, which was checked when it was appended: built without validating it
    again (the dearest part of a pull's CPU otherwise)."""
    sealed = row["sealed"]
    return sync.PulledOp.model_construct(
        **{name: row[name] for name in _AS_STORED},
        field_mask=list(row["field_mask"]),
        fields=row["fields"],
        sealed=base64.b64encode(sealed).decode() if sealed is not None else None,
    )


@dataclass(frozen=True)
class OwnOps:
    """The puller's own ops, which it holds already: replica `replica_id`, below
    `replica_seq_below` (what its database had queued when the round began)."""

    replica_id: str
    replica_seq_below: int


async def pull(
    conn: asyncpg.Connection, user: str, after: int, limit: int, own: OwnOps | None = None
) -> tuple[list[sync.PulledOp], int, bool, int]:
    """Ops after `after`: at most `limit` examined, cut after the op whose body takes the page
    past MAX_PULL_BYTES (so a page of long memories stays a few MiB, and holds at least one
    op). The puller's `own` ops are passed over without their bodies being read. Returns the
    ops, the cursor past the last op examined, whether more follow, and the head."""
    rows = await conn.fetch(
        "SELECT seq, op_id::text AS op_id, replica_id, replica_seq, entity_id, hlc, kind, "
        "field_mask, key_id, own, CASE WHEN own THEN NULL ELSE fields END AS fields, "
        "CASE WHEN own THEN NULL ELSE sealed END AS sealed, CASE WHEN own THEN 0 ELSE "
        "octet_length(fields::text) + coalesce(octet_length(sealed), 0) * 4 / 3 END AS size "
        "FROM (SELECT *, (replica_id = $4 AND replica_seq < $5) AS own FROM ops "
        "WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3) AS page ORDER BY seq",
        user,
        after,
        limit + 1,
        own.replica_id if own else "",
        own.replica_seq_below if own else 0,
    )
    head = await head_seq(conn, user)
    size, count = 0, 0
    for row in rows[:limit]:
        size += row["size"]
        count += 1
        if size > sync.MAX_PULL_BYTES:
            break
    ops = [pulled(r) for r in rows[:count] if not r["own"]]
    cursor = rows[count - 1]["seq"] if count else after
    return ops, cursor, len(rows) > count, head
