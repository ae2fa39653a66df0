"""One sync round, in the foreground: push the outbox page by page, then pull until the hub has
nothing more. Pure orchestration of an injected store, client, cipher and clock, so tests call
`sync_once()` directly and shrink deterministically.

Failure rules: nothing queued is ever dropped. Acked ops leave the outbox in one transaction;
a lost answer means a retry, which the hub acks as `duplicate`. A page is sized by bytes to
the hub's push limit and halved while the hub answers 413. Ops the hub refuses as invalid, or
too large to push alone, are set aside (`parked`, visible in status); ops refused for clock
skew stay queued. A pulled page and the cursor move together, in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import aiosqlite

from memory_core.clock import Clock
from memory_core.errors import BadEnvelope, HubUnreachable, InvalidInput, WrongKey
from memory_core.wire.sync import (
    DEFAULT_PULL_LIMIT,
    MAX_PUSH_BYTES,
    MAX_PUSH_OPS,
    PulledOp,
    ops_that_fit,
    push_body,
)
from memoryd.store.db import Database
from memoryd.store.memories import Change, MemoryStore
from memoryd.store.statement import write_statement
from memoryd.sync.client import HubRefused, SyncClient
from memoryd.sync.envelope import SyncCipher, open_op
from memoryd.sync.rounds import Queued, RoundResult, Status, SyncStopped
from memoryd.sync.state import new_replica_id, restamp

__all__ = ["Queued", "RoundResult", "Status", "SyncEngine", "SyncStopped"]


@dataclass(eq=False)
class SyncEngine:
    """What a round works with, all passed in (the engine keeps no state of its own: that is
    in the database)."""

    store: MemoryStore
    client: SyncClient
    cipher: SyncCipher | None
    clock: Clock
    push_page: int = MAX_PUSH_OPS
    pull_limit: int = DEFAULT_PULL_LIMIT
    push_bytes: int = MAX_PUSH_BYTES

    @property
    def db(self) -> Database:
        return self.store.db

    # ----------------------------------------------------------------- round

    async def sync_once(self) -> RoundResult:
        result = RoundResult()
        try:
            await self.push(result)
            await self.pull(result)
        except HubUnreachable as exc:
            result.ok, result.error_code, result.error = False, "unreachable", str(exc)
        except SyncStopped as exc:
            result.ok, result.error_code, result.error = False, exc.code, exc.message
        await self._set_state(
            last_error=None if result.ok else f"{result.error_code}: {result.error}"
        )
        return result

    # ------------------------------------------------------------------ push

    async def push(self, result: RoundResult) -> None:
        page = self.push_page  # ops a request may carry; halved by each 413 for this round
        limit = page
        collisions = 0
        while True:
            replica_id, ops = await self._queued(limit)
            if not ops:
                return
            try:
                body = push_body(replica_id, [op.envelope for op in ops])
                answer = await self.client.push_encoded(body)
            except HubRefused as exc:
                if exc.code == "payload_too_large":
                    page = limit = await self._too_large(exc, ops, result, page)
                    continue
                limit = min(page, await self._refused(exc, ops, result, collisions))
                collisions += exc.code == "replica_collision"
                continue
            limit = page
            acked = {ack.op_id for ack in answer.acks}
            for ack in answer.acks:
                if ack.status == "inserted":
                    result.pushed += 1
                elif ack.status == "duplicate":
                    result.duplicates += 1
                else:
                    result.obsolete += 1
            offset = answer.server_time - self.clock.now_ms()

            async def done(
                conn: aiosqlite.Connection, acked: set[str] = acked, offset: int = offset
            ) -> None:
                await conn.executemany(
                    "DELETE FROM sync_outbox WHERE op_id = ?", [(i,) for i in acked]
                )
                await conn.execute(
                    "UPDATE sync_state SET last_push_ms = ?, server_offset_ms = ? WHERE id = 1",
                    (self.clock.now_ms(), offset),
                )

            await self.db.write(done)
            if len(acked) < len(ops):
                raise SyncStopped("bad_answer", "the hub acknowledged fewer ops than were sent")

    async def _queued(self, limit: int) -> tuple[str, list[Queued]]:
        """The next page: at most `limit` queued ops, as many as fit the hub's push limit."""
        async with self.db.reader() as conn:
            async with conn.execute("SELECT replica_id FROM sync_state WHERE id = 1") as cursor:
                state = await cursor.fetchone()
            async with conn.execute(
                "SELECT op_id, entity_id, hlc, envelope FROM sync_outbox WHERE parked = 0 "
                "ORDER BY replica_seq LIMIT ?",
                (limit,),
            ) as cursor:
                rows = list(await cursor.fetchall())
        assert state is not None
        # The stored envelope is the op as the request encodes it (it was validated when it
        # was queued): it goes out as it is, and its size is the op's share of the body.
        ops = [Queued(row[0], row[1], row[2], row[3]) for row in rows]
        fit = ops_that_fit([len(op.envelope.encode()) for op in ops], self.push_bytes)
        return str(state[0]), ops[:fit]

    async def _too_large(
        self, exc: HubRefused, ops: list[Queued], result: RoundResult, page: int
    ) -> int:
        """A page over the hub's limit (it may be configured below ours): halve it, down to one
        op. One op alone over the limit can never be pushed: it is set aside, shown in status,
        and the rest of the queue flows. Returns the page size to go on with."""
        if len(ops) > 1:
            return len(ops) // 2
        op = ops[0]
        size = len(op.envelope.encode())
        await self._park(
            [op.op_id],
            f"payload_too_large: the change to memory {op.entity_id} is {size} bytes, over the "
            f"hub's push limit ({exc.error.message}); it stays on this machine",
        )
        result.parked += 1
        return page

    async def _park(self, op_ids: list[str], error: str) -> None:
        async def job(conn: aiosqlite.Connection) -> None:
            await conn.executemany(
                "UPDATE sync_outbox SET parked = 1, last_error = ? WHERE op_id = ?",
                [(error, i) for i in op_ids],
            )

        await self.db.write(job)

    async def _refused(
        self, exc: HubRefused, ops: list[Queued], result: RoundResult, collisions: int
    ) -> int:
        """React to a refused push; returns the page size to try next, or raises."""
        code, ids = exc.code, set(exc.error.op_ids)
        if code == "clock_skew":
            first = next((i for i, op in enumerate(ops) if op.op_id in ids), 0)
            if first > 0:
                return first  # push what precedes the skewed op; it stays queued
            ahead = (ops[0].hlc >> 16) - (exc.error.server_time or self.clock.now_ms())
            raise SyncStopped(
                "clock_skew",
                f"this machine's clock is about {ahead // 1000}s ahead of the hub's: queued "
                "changes wait until the clock is fixed or real time catches up",
            )
        if code in ("invalid_op", "op_collision") and ids & {op.op_id for op in ops}:
            await self._park(sorted(ids), f"{code}: {exc.error.message}")
            result.parked += len(ids)
            return self.push_page
        if code == "replica_collision" and collisions < 2:
            fresh = new_replica_id()

            async def rekey(conn: aiosqlite.Connection) -> None:
                await restamp(conn, fresh, self.cipher, self.clock.now_ms())

            await self.db.write(rekey)
            return self.push_page
        hint = "check MEMORY_API_KEY" if code == "unauthorized" else "see the hub's message"
        raise SyncStopped(code, f"{exc.error.message} ({hint}); changes stay queued")

    # ------------------------------------------------------------------ pull

    async def pull(self, result: RoundResult) -> None:
        """Pull pages until the hub has no more. The next page is asked for while this one is
        applied: the hub reads and encodes it while this machine writes, so on two cores a page
        costs about the larger of the two, not their sum. Pulls change nothing on the hub,
        so a page fetched and then dropped (the round stopped) costs only the transfer."""
        await self._retry_quarantine(result)
        cursor, own = await self._pull_start()
        fetching = asyncio.ensure_future(self.client.pull(cursor, self.pull_limit, own))
        try:
            while True:
                page = await fetching
                if page.ops and page.ops[0].seq <= cursor:
                    raise SyncStopped("bad_answer", "the hub sent ops at or before the cursor")
                if page.has_more and page.next_after <= cursor:
                    raise SyncStopped("bad_answer", "the hub's cursor did not move on")
                if page.has_more:
                    fetching = asyncio.ensure_future(
                        self.client.pull(page.next_after, self.pull_limit, own)
                    )
                # This replica's own ops (an older hub sends them back) are joined already.
                ops = [op for op in page.ops if not _is_own(op, own)]
                applied, quarantined = await self._apply_page(self._opened(ops), page.next_after)
                result.pulled += len(ops)
                result.applied += applied
                result.quarantined += quarantined
                if not page.has_more:
                    return
                cursor = page.next_after
        finally:
            if not fetching.done():
                fetching.cancel()
                with contextlib.suppress(asyncio.CancelledError, HubUnreachable, HubRefused):
                    await fetching

    async def _pull_start(self) -> tuple[int, tuple[str, int]]:
        """The cursor, and this replica's own ops: its id and next replica_seq. Every op it
        queued below that was written here, in the transaction that queued it, so its state
        holds them (a database restored from a backup has the older counter, and gets back
        what it pushed after the backup)."""
        async with (
            self.db.reader() as conn,
            conn.execute(
                "SELECT cursor, replica_id, next_replica_seq FROM sync_state WHERE id = 1"
            ) as cursor,
        ):
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0]), (str(row[1]), int(row[2]))

    def _opened(self, ops: list[PulledOp]) -> list[tuple[PulledOp, Change | None, str | None]]:
        """Each op with its change, or why it cannot be read (it goes to quarantine)."""
        changes: list[tuple[PulledOp, Change | None, str | None]] = []
        for op in ops:
            try:
                values = open_op(op, self.cipher)
            except WrongKey as exc:
                if self.cipher is not None:
                    raise SyncStopped("wrong_key", exc.message) from None
                changes.append((op, None, exc.message))
                continue
            except BadEnvelope as exc:
                changes.append((op, None, exc.message))
                continue
            changes.append((op, Change(op.entity_id, op.kind, op.hlc, values, op.replica_id), None))
        return changes

    async def _apply_page(
        self, changes: list[tuple[PulledOp, Change | None, str | None]], next_after: int
    ) -> tuple[int, int]:
        now = self.clock.now_ms()

        async def job(conn: aiosqlite.Connection) -> tuple[int, int]:
            readable = [change for _, change, _ in changes if change is not None]
            answers = iter(await self.store.apply_remote_page(conn, readable))
            applied = quarantined = 0
            for op, change, error in changes:
                if change is not None:
                    answer = next(answers)
                    if not isinstance(answer, str):
                        applied += answer
                        continue
                    error = answer
                quarantined += 1
                await conn.execute(
                    "INSERT OR REPLACE INTO sync_quarantine (op_id, seq, envelope, error, at_ms) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (op.op_id, op.seq, op.model_dump_json(), error or "unreadable", now),
                )
            await conn.execute(
                "UPDATE sync_state SET cursor = MAX(cursor, ?), last_pull_ms = ? WHERE id = 1",
                (next_after, now),
            )
            return applied, quarantined

        result: tuple[int, int] = await self.db.write(job)
        return result

    async def _retry_quarantine(self, result: RoundResult) -> None:
        """Ops set aside for want of a key open once the right key is configured."""
        if self.cipher is None:
            return
        async with (
            self.db.reader() as conn,
            conn.execute("SELECT envelope FROM sync_quarantine ORDER BY seq") as cursor,
        ):
            rows = list(await cursor.fetchall())
        ready: list[tuple[str, Change]] = []
        for row in rows:
            op = PulledOp.model_validate_json(row[0])
            try:
                ready.append(
                    (
                        op.op_id,
                        Change(
                            op.entity_id, op.kind, op.hlc, open_op(op, self.cipher), op.replica_id
                        ),
                    )
                )
            except (WrongKey, BadEnvelope):
                continue
        if not ready:
            return

        async def job(conn: aiosqlite.Connection) -> None:
            for op_id, change in ready:
                try:
                    result.applied += await self.store.apply_remote(conn, change)
                except InvalidInput:
                    continue
                await conn.execute("DELETE FROM sync_quarantine WHERE op_id = ?", (op_id,))

        await self.db.write(job)

    # ---------------------------------------------------------------- status

    async def cursor(self) -> int:
        async with (
            self.db.reader() as conn,
            conn.execute("SELECT cursor FROM sync_state WHERE id = 1") as cursor,
        ):
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _set_state(self, last_error: str | None) -> None:
        await write_statement(
            self.db, "UPDATE sync_state SET last_error = ? WHERE id = 1", (last_error,)
        )

    async def status(self) -> Status:
        async with self.db.reader() as conn:
            async with conn.execute(
                "SELECT replica_id, cursor, last_push_ms, last_pull_ms, last_error, "
                "server_offset_ms FROM sync_state WHERE id = 1"
            ) as cursor:
                state = await cursor.fetchone()
            async with conn.execute(
                "SELECT COUNT(*) FILTER (WHERE parked = 0), COUNT(*) FILTER (WHERE parked = 1) "
                "FROM sync_outbox"
            ) as cursor:
                counts = await cursor.fetchone()
            async with conn.execute(
                "SELECT DISTINCT last_error FROM sync_outbox WHERE parked = 1 LIMIT 5"
            ) as cursor:
                parked_errors = [str(r[0]) for r in await cursor.fetchall()]
            async with conn.execute("SELECT COUNT(*) FROM sync_quarantine") as cursor:
                quarantine = await cursor.fetchone()
        assert state is not None and counts is not None and quarantine is not None
        return Status(
            replica_id=state["replica_id"],
            cursor=state["cursor"],
            queue_depth=counts[0],
            parked=counts[1],
            quarantined=quarantine[0],
            last_push_ms=state["last_push_ms"],
            last_pull_ms=state["last_pull_ms"],
            last_error=state["last_error"],
            server_offset_ms=state["server_offset_ms"],
            parked_errors=parked_errors,
        )


def _is_own(op: PulledOp, own: tuple[str, int]) -> bool:
    return op.replica_id == own[0] and op.replica_seq < own[1]
