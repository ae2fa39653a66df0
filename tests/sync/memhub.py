"""A minimal in-memory hub speaking memoryd.wire.sync, and a transport that injects faults.

The hub follows the protocol's rules (per-user sequence in commit order, idempotent push by
op id, obsolete acks after a delete, purge of a deleted entity's other ops, the clock-skew
guard) so that the convergence tests exercise the client against the same contract the real
hub implements.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from memoryd.clock import Clock
from memoryd.sync.hlc import wall_ms
from memoryd.wire.sync import (
    DEFAULT_PULL_LIMIT,
    MAX_FUTURE_SKEW_MS,
    MAX_PULL_LIMIT,
    PULL_PATH,
    PUSH_PATH,
    Ack,
    Op,
    PulledOp,
    PullResponse,
    PushRequest,
    PushResponse,
)


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status)


def _hash(op: Op) -> str:
    return hashlib.sha256(op.model_dump_json().encode()).hexdigest()


@dataclass
class UserLog:
    head: int = 0
    ops: dict[int, Op] = field(default_factory=dict)  # seq -> op (purged ones removed)
    by_op_id: dict[str, tuple[int | None, str]] = field(default_factory=dict)
    by_replica_seq: dict[tuple[str, int], str] = field(default_factory=dict)
    tombstones: set[str] = field(default_factory=set)


class MemHub:
    def __init__(self, clock: Clock, keys: dict[str, str] | None = None) -> None:
        self.clock = clock
        self.keys = keys or {"test-key": "user-1"}
        self.users: dict[str, UserLog] = {}
        self.pushes = 0
        self.app = Starlette(
            routes=[
                Route(PUSH_PATH, self.push, methods=["POST"]),
                Route(PULL_PATH, self.pull, methods=["GET"]),
            ]
        )

    def _user(self, request: Request) -> UserLog | None:
        header = request.headers.get("authorization", "")
        user = self.keys.get(header.removeprefix("Bearer "))
        return None if user is None else self.users.setdefault(user, UserLog())

    async def push(self, request: Request) -> Response:
        log = self._user(request)
        if log is None:
            return _error(401, "unauthorized", "unknown API key")
        try:
            body = PushRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            return _error(422, "invalid_op", str(exc.errors()[0]["msg"]))
        now = self.clock.now_ms()
        skewed = [op.op_id for op in body.ops if wall_ms(op.hlc) > now + MAX_FUTURE_SKEW_MS]
        if skewed:
            return _error(422, "clock_skew", "ops stamped in the future", server_time=now,
                          op_ids=skewed)  # fmt: skip
        for op in body.ops:
            known = log.by_replica_seq.get((op.replica_id, op.replica_seq))
            if known is not None and known != op.op_id:
                return _error(409, "replica_collision", "replica_seq reused", op_ids=[op.op_id])
            seen = log.by_op_id.get(op.op_id)
            if seen is not None and seen[1] != _hash(op):
                return _error(409, "op_collision", "op_id reused", op_ids=[op.op_id])
        # All checks passed: commit the whole request (one "transaction").
        self.pushes += 1
        acks = []
        for op in body.ops:
            seen = log.by_op_id.get(op.op_id)
            if seen is not None:
                acks.append(Ack(op_id=op.op_id, status="duplicate", seq=seen[0]))
                continue
            log.by_replica_seq[(op.replica_id, op.replica_seq)] = op.op_id
            if op.entity_id in log.tombstones:
                log.by_op_id[op.op_id] = (None, _hash(op))
                acks.append(Ack(op_id=op.op_id, status="obsolete", seq=None))
                continue
            log.head += 1
            log.ops[log.head] = op
            log.by_op_id[op.op_id] = (log.head, _hash(op))
            if op.kind == "del":
                log.tombstones.add(op.entity_id)
                # Purge: a deleted entity's other ops can never matter again.
                for seq in [s for s, o in log.ops.items() if o.entity_id == op.entity_id]:
                    if seq != log.head:
                        del log.ops[seq]
            acks.append(Ack(op_id=op.op_id, status="inserted", seq=log.head))
        answer = PushResponse(acks=acks, head_seq=log.head, server_time=now)
        return Response(answer.model_dump_json(), media_type="application/json")

    async def pull(self, request: Request) -> Response:
        log = self._user(request)
        if log is None:
            return _error(401, "unauthorized", "unknown API key")
        try:
            after = int(request.query_params.get("after", "0"))
            limit = int(request.query_params.get("limit", str(DEFAULT_PULL_LIMIT)))
        except ValueError:
            return _error(422, "invalid", "after and limit are integers")
        limit = max(1, min(limit, MAX_PULL_LIMIT))
        seqs = sorted(s for s in log.ops if s > after)
        page = seqs[:limit]
        ops = [PulledOp(**log.ops[s].model_dump(), seq=s) for s in page]
        answer = PullResponse(
            ops=ops,
            next_after=page[-1] if page else after,
            has_more=len(seqs) > limit,
            head_seq=log.head,
            server_time=self.clock.now_ms(),
        )
        return Response(answer.model_dump_json(), media_type="application/json")


FAULTS = ("none", "drop_request", "drop_response", "duplicate", "timeout")


class FaultyTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; `mode` says what goes wrong with the next requests."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.mode = "none"
        self.up = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.up or self.mode == "drop_request":
            raise httpx.ConnectError("injected: request dropped", request=request)
        if self.mode == "timeout":
            raise httpx.ReadTimeout("injected: timeout", request=request)
        if self.mode == "duplicate":
            await request.aread()
            first = await self.inner.handle_async_request(request)
            await first.aread()
            await first.aclose()
        response = await self.inner.handle_async_request(request)
        if self.mode == "drop_response":
            await response.aread()
            await response.aclose()
            raise httpx.ReadError("injected: response lost after commit", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
