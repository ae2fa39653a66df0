"""HTTP handlers: parse, authenticate, call the hub, shape the answer. Their table, with
each route's wire models, is memory_hub.endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from memory_core.clock import iso_from_ms, ms_from_iso
from memory_core.errors import BadRequest, InvalidInput, InvalidOp, PayloadTooLarge
from memory_core.http.bodies import (
    IMPORT_LIMIT,
    int_param,
    parse_json,
    read_bytes,
    read_model,
    read_query,
    validate,
)
from memory_core.http.bodies import validation_message as _message
from memory_core.http.routing import app_state
from memory_core.version import __version__
from memory_core.wire import links as wire_links
from memory_core.wire import rest, sync
from memory_hub import links, oplog, original, pulls, sharing
from memory_hub.auth import KeyRing
from memory_hub.config import HubSettings
from memory_hub.db import user_tx
from memory_hub.imports import SKIPPED_HEADER, ImportQuery, import_items
from memory_hub.limits import Limits
from memory_hub.memories import Hub
from memory_hub.metrics import Metrics
from memory_hub.recall import recall as run_recall

# Rows per page of /api/memories/sync when a client pages it (`?limit=`): bounds one answer.
FEED_PAGE_MAX = 1000


def hub(request: Request) -> Hub:
    return app_state(request, "hub", Hub)


async def user(request: Request) -> str:
    return await app_state(request, "keys", KeyRing).authenticate(request)


def settings(request: Request) -> HubSettings:
    return app_state(request, "settings", HubSettings)


def metrics_of(request: Request) -> Metrics:
    return app_state(request, "metrics", Metrics)


# ------------------------------------------------------------------------ unauthenticated


async def health(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.hub.pool
    try:
        async with asyncio.timeout(3):
            async with pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
    except Exception as exc:  # any failure to reach the database means "not ready"
        return JSONResponse(
            {
                "status": "unavailable",
                "db": f"unreachable ({type(exc).__name__})",
                "version": __version__,
            },
            status_code=503,
        )
    return JSONResponse({"status": "ok", "db": "ok", "version": __version__})


async def metrics(request: Request) -> Response:
    text = metrics_of(request).render() + app_state(request, "limits", Limits).render()
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


# -------------------------------------------------------------------------------- REST

# What a handler does to the memory its path names (`{id}`): hub, user, id -> the answer.
MemoryAction = Callable[[Hub, str, str], Awaitable[dict[str, Any]]]


async def _on_named_memory(request: Request, action: MemoryAction) -> Response:
    """Authenticate the caller, then answer what `action` makes of the memory the path names."""
    who = await user(request)
    return JSONResponse(await action(hub(request), who, request.path_params["id"]))


async def auth_check(request: Request) -> Response:
    return JSONResponse({"status": "ok", "user_id": await user(request)})


async def create_memory(request: Request) -> Response:
    who = await user(request)
    body = await read_model(request, rest.MemoryIn)
    created = await hub(request).create(who, body)
    return JSONResponse(original.stored(created))  # 200, as the original answers a store


async def list_memories(request: Request) -> Response:
    who = await user(request)
    page = await hub(request).page(who, read_query(request, rest.ListQuery))
    return JSONResponse(
        {"memories": [original.memory(m, who) for m in page["memories"]], "total": page["total"]}
    )


async def get_memory(request: Request) -> Response:
    """One memory; the caller's own with its links both ways, as GET /api/memories/{id}/links
    shows them (a shared memory's links are its owner's business)."""
    who = await user(request)
    found = await sharing.get(hub(request), who, request.path_params["id"])
    shaped = original.memory(found, who)
    if shaped["owner"] == who:
        both = await links.links_of(hub(request), who, shaped["uuid"])
        shaped.update(links_out=both["links_out"], links_in=both["links_in"])
    return JSONResponse(shaped)


async def update_memory(request: Request) -> Response:
    who = await user(request)
    body = await read_model(request, rest.MemoryPatch)
    changed = await sharing.update(hub(request), who, request.path_params["id"], body)
    memory = original.memory(changed, who)
    return JSONResponse({"updated": memory["id"], "uuid": memory["uuid"], "memory": memory})


async def delete_memory(request: Request) -> Response:
    return await _on_named_memory(request, sharing.delete)


async def recall(request: Request) -> Response:
    who = await user(request)
    body = await read_model(request, rest.RecallIn)
    found = await run_recall(hub(request), who, body)
    return JSONResponse({"memories": [original.memory(m, who) for m in found]})


async def secret(request: Request) -> Response:
    return await _on_named_memory(request, sharing.secret)


async def link(request: Request) -> Response:
    who = await user(request)
    body = await read_model(request, wire_links.LinkIn)
    found = await links.link(
        hub(request), who, request.path_params["id"], body.link_type, body.target()
    )
    return JSONResponse(found)


async def unlink(request: Request) -> Response:
    who = await user(request)
    params = request.path_params
    found = await links.unlink(hub(request), who, params["id"], params["dst"], params["type"])
    return JSONResponse(found)


async def links_of(request: Request) -> Response:
    return await _on_named_memory(request, links.links_of)


async def feed(request: Request) -> Response:
    """The original project's `/api/memories/sync`. Its clients read the answer whole (a full
    resync deletes what is not in it), so by default it is whole; `limit` (capped at
    `FEED_PAGE_MAX`) and `after` (the previous page's `next`) page it for clients that opt in."""
    who = await user(request)
    query = request.query_params
    since = query.get("since")
    since_ms = None
    if since:
        try:
            # A `+` in an offset arrives as a space when the client did not encode it.
            since_ms = ms_from_iso(since.replace(" ", "+"))
        except ValueError:
            raise InvalidInput(f"since must be an ISO-8601 timestamp (got {since!r})") from None
    limit = _feed_limit(query.get("limit"))
    after = _feed_cursor(query.get("after"))
    # Taken before the query, as the original does: the next `since`.
    server_time = iso_from_ms(hub(request).clock.now_ms())
    memories, following = await hub(request).feed(who, since_ms, after, limit)
    # Tags as text: the original's sync binds them into a TEXT column as they come.
    shaped = [original.memory(m, who) for m in memories]
    body: dict[str, Any] = {"memories": shaped, "server_time": server_time}
    if limit is not None:
        body["next"] = f"{following[0]}.{following[1]}" if following else None
    return JSONResponse(body)


def _feed_limit(text: str | None) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) < 1:
        raise InvalidInput(f"limit must be a positive integer (got {text[:40]!r})")
    return min(int(text), FEED_PAGE_MAX)


def _feed_cursor(text: str | None) -> tuple[int, str] | None:
    """`after`: the `next` of a previous page, `<updated_ms>.<id>`."""
    if text is None:
        return None
    ms, _, memory_id = text.partition(".")
    if not (ms.isascii() and ms.isdigit() and len(ms) <= 18):
        raise InvalidInput("after must be the `next` of a previous page")
    if not (memory_id.isascii() and memory_id.isprintable() and 0 < len(memory_id) <= 128):
        raise InvalidInput("after must be the `next` of a previous page")
    return int(ms), memory_id


async def migrate_secrets(request: Request) -> Response:
    who = await user(request)
    return JSONResponse({"migrated": await hub(request).migrate_secrets(who)})


async def import_memories(request: Request) -> Response:
    who = await user(request)
    query = read_query(request, ImportQuery)
    raw = await read_bytes(request, IMPORT_LIMIT)
    data: Any = parse_json(raw) if raw.strip() else None
    if isinstance(data, dict) and isinstance(data.get("memories"), list):
        data = data["memories"]
    if not isinstance(data, list):
        raise InvalidInput('send a JSON array of memories (or {"memories": [...]})')
    done = await import_items(hub(request), who, data, skip_invalid=query.skip_invalid)
    if query.report:
        return JSONResponse(original.import_report(done.results, done.rejected))
    # The original's list has no room for the rows set aside: their count rides in a header.
    skipped = {SKIPPED_HEADER: str(len(done.rejected))}
    return JSONResponse(original.import_answer(done.results), headers=skipped)


async def stats(request: Request) -> Response:
    who = await user(request)
    return JSONResponse(await hub(request).stats(who))


async def categories(request: Request) -> Response:
    who = await user(request)
    return JSONResponse(await original.categories(hub(request).pool, who))


async def tags(request: Request) -> Response:
    who = await user(request)
    return JSONResponse(await original.tags(hub(request).pool, who))


# -------------------------------------------------------------------------------- sync


def parse_push(raw: bytes, limits: HubSettings) -> sync.PushRequest:
    if not raw.strip():
        raise BadRequest("request body is empty; send a JSON object")
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise InvalidInput("request body must be a JSON object")
    raw_ops = data.get("ops")
    if isinstance(raw_ops, list) and len(raw_ops) > limits.max_push_ops:
        raise PayloadTooLarge(
            f"{len(raw_ops)} ops in one push; at most {limits.max_push_ops}: push smaller pages"
        )
    try:  # the usual case, every op valid: checked once
        return sync.PushRequest.model_validate(data)
    except ValidationError:
        pass  # name the ops at fault, or say what else is wrong
    if isinstance(raw_ops, list):
        bad = []
        for item in raw_ops:
            try:
                sync.Op.model_validate(item)
            except ValidationError as exc:
                op_id = item.get("op_id") if isinstance(item, dict) else None
                bad.append((op_id if isinstance(op_id, str) else "?", _message(exc)))
        if bad:
            raise InvalidOp(f"invalid op {bad[0][0]}: {bad[0][1]}", op_ids=[b[0] for b in bad])
    return validate(sync.PushRequest, data)


async def push(request: Request) -> Response:
    who = await user(request)
    await hub(request).limits.admit(who)
    limits = settings(request)
    raw = await read_bytes(request, limits.max_push_bytes)
    # Parsing and checking a page of ops is a push's dearest CPU work: in a thread, so the event
    # loop keeps serving other users meanwhile (bench/hub_fairness.py).
    body = await asyncio.to_thread(parse_push, raw, limits)
    the_hub = hub(request)
    now = the_hub.clock.now_ms()
    oplog.check_ops(body.ops, now, limits.max_future_skew_ms, the_hub.replica_id)
    # Every op counts against the user's rate, as REST's do, spent in the push's transaction.
    async with the_hub.limits.refusals_delayed(), user_tx(the_hub.pool, who) as conn:
        acks, head = await oplog.push(conn, who, list(body.ops), now, the_hub.limits)
    counter = metrics_of(request)
    for ack in acks:
        counter.ops_pushed[ack.status] += 1
    out = sync.PushResponse(acks=acks, head_seq=head, server_time=now)
    return JSONResponse(out.model_dump())


async def pull(request: Request) -> Response:
    who = await user(request)
    after = int_param(request, "after", 0, 0, (1 << 63) - 1)
    limit = int_param(request, "limit", sync.DEFAULT_PULL_LIMIT, 1, sync.MAX_PULL_LIMIT)
    own = _own_ops(request)
    the_hub = hub(request)
    async with user_tx(the_hub.pool, who) as conn:
        ops, cursor, has_more, head = await pulls.pull(conn, who, after, limit, own)
    metrics_of(request).ops_pulled += len(ops)
    out = sync.PullResponse(
        ops=ops,
        next_after=cursor,
        has_more=has_more,
        head_seq=head,
        server_time=the_hub.clock.now_ms(),
    )
    return JSONResponse(out.model_dump())


def _own_ops(request: Request) -> pulls.OwnOps | None:
    """`replica_id` and `replica_seq_below`: the puller's own ops, which it need not get back."""
    replica_id = request.query_params.get("replica_id")
    if replica_id is None:
        return None
    if not (len(replica_id) == 32 and all(c in "0123456789abcdef" for c in replica_id)):
        raise InvalidInput("replica_id must be 32 lowercase hex digits")
    below = int_param(request, "replica_seq_below", 0, 0, (1 << 63) - 1)
    return pulls.OwnOps(replica_id, below)
