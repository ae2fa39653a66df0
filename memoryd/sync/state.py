"""Who this replica is, and what to do when its database turns out to be a copy.

The replica id lives in the database (sync_state) and in a file next to the key. A database
copied to another machine arrives without that file, or with another machine's: the ids then
disagree, and the replica takes a new id and re-stamps its queued ops. Two machines never push
under one id, so the hub never has to merge two histories that claim to be one.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import aiosqlite

from memory_core.errors import WrongKey
from memory_core.ids import uuid7
from memory_core.private_files import private_dir, write_private_file
from memory_core.wire.sync import Op
from memoryd.store.db import Database
from memoryd.sync.envelope import SyncCipher, build_op, open_op

MARKER_NAME = "replica-id"


def new_replica_id() -> str:
    return secrets.token_hex(16)


def marker_path(key_file: Path) -> Path:
    return key_file.parent / MARKER_NAME


def _read_marker(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _write_marker(path: Path, replica_id: str) -> None:
    private_dir(path.parent, "the replica marker")
    write_private_file(path, (replica_id + "\n").encode())


async def ensure_replica(
    db: Database, marker: Path, cipher: SyncCipher | None, now_ms: int
) -> tuple[str, bool]:
    """The replica id to sync under, and whether the database was found to be a copy."""
    on_disk = _read_marker(marker)

    async def job(conn: aiosqlite.Connection) -> tuple[str, bool]:
        async with conn.execute("SELECT replica_id FROM sync_state WHERE id = 1") as cursor:
            row = await cursor.fetchone()
        if row is not None and row[0] == on_disk:
            return str(row[0]), False
        fresh = new_replica_id()
        if row is None:
            await conn.execute("INSERT INTO sync_state (id, replica_id) VALUES (1, ?)", (fresh,))
            return fresh, False
        await restamp(conn, fresh, cipher, now_ms)
        return fresh, True

    replica_id, cloned = await db.write(job)
    _write_marker(marker, replica_id)
    return replica_id, cloned


async def restamp(
    conn: aiosqlite.Connection, replica_id: str, cipher: SyncCipher | None, now_ms: int
) -> None:
    """Give every queued op the new replica id, fresh sequence numbers and op ids (the sealed
    parts are sealed again, their header changed). Same entity, HLC and values: pushing both
    the original and the re-stamped op is harmless, the join is idempotent."""
    async with conn.execute(
        "SELECT replica_seq, envelope, parked, last_error FROM sync_outbox ORDER BY replica_seq"
    ) as cursor:
        rows = list(await cursor.fetchall())
    await conn.execute("DELETE FROM sync_outbox")
    seq = 0
    for row in rows:
        op = Op.model_validate_json(row["envelope"])
        parked, error = row["parked"], row["last_error"]
        try:
            values = open_op(op, cipher)
        except WrongKey as exc:
            # Cannot re-seal without the key it was sealed with: keep it, set aside.
            values, parked, error = {}, 1, exc.message
        seq += 1
        if values or op.kind == "del":
            secret = {k: v for k, v in values.items() if k not in op.fields}
            op = build_op(
                replica_id=replica_id,
                replica_seq=seq,
                op_id=uuid7(now_ms),
                entity_id=op.entity_id,
                hlc=op.hlc,
                kind=op.kind,
                plain=dict(op.fields),
                secret=secret,
                cipher=cipher,
            )
        await conn.execute(
            "INSERT INTO sync_outbox (replica_seq, op_id, entity_id, hlc, envelope, parked, "
            "last_error) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, op.op_id, op.entity_id, op.hlc, op.model_dump_json(), parked, error),
        )
    await conn.execute(
        "UPDATE sync_state SET replica_id = ?, next_replica_seq = ? WHERE id = 1",
        (replica_id, seq + 1),
    )
