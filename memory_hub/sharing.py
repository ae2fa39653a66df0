"""Sharing: an owner shows one memory, or every memory with a tag (now and later), to another
user of the hub, with the original project's `read` or `write` permission and our
`secret_get` (docs/hub.md "Sharing", docs/security.md).

The rules:
- only the owner shares, unshares, deletes; a memory not the caller's own is a 404 and nothing
  changes, whoever owns it;
- `read` shows the memory in the recipient's list, recall, GET by id and shared-with-me, marked
  with its owner; `write` also lets the recipient update it (the update is the owner's, in the
  owner's log, so it syncs to the owner's machines);
- a sensitive memory's value is shown as its placeholder; the recipient reads it with
  secret_get only when the share (or one of the tag shares that covers it) says
  `secret_get: true`.

The rows of memory_shares and tag_shares are the owner's; the recipient's transactions read the
ones naming them, and row-level security lets them read the memories those rows cover
(memory_hub.migrations, v6).
"""

from __future__ import annotations

from collections.abc import Awaitable, Collection
from dataclasses import dataclass
from typing import Any

import asyncpg

from memory_core.clock import iso_from_ms
from memory_core.errors import BadRequest, Forbidden, InvalidInput, NotFound
from memory_core.model import check_id, check_text, is_id, parse_tags
from memory_core.wire import rest
from memory_core.wire.sharing import ShareIn, ShareTagIn, UnshareTagIn
from memory_hub.db import user_tx
from memory_hub.ids import parse_num
from memory_hub.memories import COLUMNS, Hub
from memory_hub.visibility import marked

PREVIEW_CHARS = 80  # my-shares' preview of a memory, as the original
MAX_USER_CHARS = 100  # a user id in a path, as the original bounds it in bodies


@dataclass(frozen=True)
class Grant:
    """What a share gives a recipient on one memory of `owner` (the best of the direct share
    and the tag shares that cover it)."""

    owner: str
    memory_id: str
    write: bool
    secret_get: bool
    sensitive: bool


def _recipient(owner: str, name: str, users: Collection[str]) -> str:
    if name == owner:
        raise BadRequest("cannot share with yourself: name another user of this hub")
    if name not in users:
        raise NotFound(f"no user {name!r} on this hub (its users are the names in its API_KEYS)")
    return name


def _tag(raw: str) -> str:
    tags = parse_tags([raw])
    if not tags:
        raise InvalidInput("tag must not be blank")
    return tags[0]


def _path_user(name: str) -> str:
    """A user id from a path, by the rule of every text field (no NUL, no lone surrogate)."""
    if not name or len(name) > MAX_USER_CHARS:
        raise InvalidInput(f"a user id is 1 to {MAX_USER_CHARS} characters")
    return check_text("user", name)


# ------------------------------------------------------------------------------ owner's side


async def share_memory(
    hub: Hub, users: Collection[str], owner: str, memory_id: str, body: ShareIn
) -> dict[str, Any]:
    async with user_tx(hub.pool, owner) as conn:
        await hub._e2e_guard(conn, owner)  # the hub cannot show what it cannot read
        row = await hub._row(conn, owner, memory_id)
        recipient = _recipient(owner, body.shared_with, users)
        await conn.execute(
            "INSERT INTO memory_shares (owner_id, memory_id, shared_with, permission, "
            "secret_get, created_ms) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (owner_id, memory_id, shared_with) DO UPDATE SET "
            "permission = EXCLUDED.permission, secret_get = EXCLUDED.secret_get",
            owner,
            row["id"],
            recipient,
            body.permission,
            body.secret_get,
            hub.clock.now_ms(),
        )
    return {
        "shared": row["num"],
        "uuid": row["id"],
        "with": recipient,
        "permission": body.permission,
        "secret_get": body.secret_get,
    }


async def unshare_memory(hub: Hub, owner: str, memory_id: str, target: str) -> dict[str, Any]:
    target = _path_user(target)
    async with user_tx(hub.pool, owner) as conn:
        row = await hub._row(conn, owner, memory_id)
        status = await conn.execute(
            "DELETE FROM memory_shares WHERE owner_id = $1 AND memory_id = $2 AND shared_with = $3",
            owner,
            row["id"],
            target,
        )
    removed = status == "DELETE 1"
    return {"unshared": row["num"], "uuid": row["id"], "from": target, "removed": removed}


async def share_tag(
    hub: Hub, users: Collection[str], owner: str, body: ShareTagIn
) -> dict[str, Any]:
    tag = _tag(body.tag)
    recipient = _recipient(owner, body.shared_with, users)
    async with user_tx(hub.pool, owner) as conn:
        await hub._e2e_guard(conn, owner)
        await conn.execute(
            "INSERT INTO tag_shares (owner_id, tag, shared_with, permission, secret_get, "
            "created_ms) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (owner_id, tag, shared_with) DO UPDATE SET "
            "permission = EXCLUDED.permission, secret_get = EXCLUDED.secret_get",
            owner,
            tag,
            recipient,
            body.permission,
            body.secret_get,
            hub.clock.now_ms(),
        )
    return {
        "shared_tag": tag,
        "with": recipient,
        "permission": body.permission,
        "secret_get": body.secret_get,
    }


async def unshare_tag(hub: Hub, owner: str, body: UnshareTagIn) -> dict[str, Any]:
    tag = _tag(body.tag)
    async with user_tx(hub.pool, owner) as conn:
        status = await conn.execute(
            "DELETE FROM tag_shares WHERE owner_id = $1 AND tag = $2 AND shared_with = $3",
            owner,
            tag,
            body.shared_with,
        )
    return {"unshared_tag": tag, "from": body.shared_with, "removed": status == "DELETE 1"}


async def my_shares(hub: Hub, owner: str) -> dict[str, Any]:
    columns = ", ".join("m." + c.strip() for c in COLUMNS.split(", "))
    async with user_tx(hub.pool, owner) as conn:
        direct = await conn.fetch(
            f"SELECT {columns}, s.shared_with, s.permission, s.secret_get AS may_read_secret, "
            "s.created_ms AS shared_ms FROM memory_shares s JOIN memories m "
            "ON m.user_id = s.owner_id AND m.id = s.memory_id "
            "WHERE s.owner_id = $1 AND m.deleted_ms IS NULL ORDER BY s.created_ms DESC, m.id",
            owner,
        )
        tags = await conn.fetch(
            "SELECT tag, shared_with, permission, secret_get, created_ms FROM tag_shares "
            "WHERE owner_id = $1 ORDER BY created_ms DESC, tag",
            owner,
        )
    return {
        "memory_shares": [
            {
                "memory_id": r["num"],
                "uuid": r["id"],
                "shared_with": r["shared_with"],
                "permission": r["permission"],
                "secret_get": r["may_read_secret"],
                "preview": hub.shown(r)[:PREVIEW_CHARS],
                "created_at": iso_from_ms(r["shared_ms"]),
            }
            for r in direct
        ],
        "tag_shares": [
            {
                "tag": r["tag"],
                "shared_with": r["shared_with"],
                "permission": r["permission"],
                "secret_get": r["secret_get"],
                "created_at": iso_from_ms(r["created_ms"]),
            }
            for r in tags
        ],
    }


async def users(hub: Hub, user: str, known: Collection[str]) -> dict[str, Any]:
    """The users `user` shares with or is shared with, either way: the sharing typeahead, not
    the hub's user list (the original listed every user to everyone)."""
    async with user_tx(hub.pool, user) as conn:
        rows = await conn.fetch(
            "SELECT shared_with AS name FROM memory_shares WHERE owner_id = $1 "
            "UNION SELECT shared_with FROM tag_shares WHERE owner_id = $1 "
            "UNION SELECT owner_id FROM memory_shares WHERE shared_with = $1 "
            "UNION SELECT owner_id FROM tag_shares WHERE shared_with = $1 ORDER BY 1",
            user,
        )
    return {"users": [r["name"] for r in rows if r["name"] in known and r["name"] != user]}


# -------------------------------------------------------------------------- recipient's side

# Each share covering one memory for the recipient $1: the direct one and the tag shares.
_GRANTS = (
    "SELECT s.owner_id, s.memory_id, s.permission = 'write' AS write, s.secret_get "
    "FROM memory_shares s WHERE s.shared_with = $1 {direct} "
    "UNION ALL SELECT t.owner_id, mt.id, t.permission = 'write', t.secret_get "
    "FROM tag_shares t JOIN memories mt ON mt.user_id = t.owner_id AND t.tag = ANY (mt.tags) "
    "WHERE t.shared_with = $1 {tagged}"
)


async def grant(conn: asyncpg.Connection, user: str, memory_id: str) -> Grant | None:
    """What `user` may do with another user's live memory `memory_id`; None if nobody shares
    it with them. Two owners could hold the same id (replicas choose ids): the first by name
    answers."""
    grants = _GRANTS.format(direct="AND s.memory_id = $2", tagged="AND mt.id = $2")
    row = await conn.fetchrow(
        f"SELECT g.owner_id, bool_or(g.write) AS write, bool_or(g.secret_get) AS secret_get, "
        f"m.is_sensitive FROM ({grants}) g JOIN memories m "
        "ON m.user_id = g.owner_id AND m.id = g.memory_id "
        "WHERE m.deleted_ms IS NULL AND g.owner_id <> $1 "
        "GROUP BY g.owner_id, m.is_sensitive ORDER BY g.owner_id LIMIT 1",
        user,
        check_id(memory_id),
    )
    if row is None:
        return None
    return Grant(
        row["owner_id"], check_id(memory_id), row["write"], row["secret_get"], row["is_sensitive"]
    )


async def _granted(hub: Hub, user: str, memory_id: str) -> Grant | None:
    """`grant` for a memory the user named that is not theirs. Another user's memory is
    named by its UUID: integer ids are per owner (memory_hub.ids), so one names the caller's
    own memory only, and a malformed id names none."""
    text = memory_id.strip().lower()
    if parse_num(text) is not None or not is_id(text):
        return None
    async with user_tx(hub.pool, user) as conn:
        return await grant(conn, user, memory_id)


def _described(item: dict[str, Any], found: Grant, user: str) -> dict[str, Any]:
    item = marked(item, found.owner, user)
    item["permission"] = "write" if found.write else "read"
    item["secret_get"] = found.secret_get
    return item


async def shared_with_me(hub: Hub, user: str) -> dict[str, Any]:
    """Every live memory shared with `user`, most important first, each with its owner, the
    permission and whether secret_get may read its value."""
    columns = ", ".join("m." + c.strip() for c in COLUMNS.split(", "))
    grants = _GRANTS.format(direct="", tagged="")
    async with user_tx(hub.pool, user) as conn:
        rows = await conn.fetch(
            "WITH g AS (SELECT owner_id, memory_id, bool_or(write) AS write, "
            f"bool_or(secret_get) AS may_read_secret FROM ({grants}) x WHERE owner_id <> $1 "
            f"GROUP BY owner_id, memory_id) SELECT {columns}, g.owner_id, g.write, "
            "g.may_read_secret FROM g JOIN memories m "
            "ON m.user_id = g.owner_id AND m.id = g.memory_id WHERE m.deleted_ms IS NULL "
            f"ORDER BY m.importance DESC, m.updated_ms DESC, m.id LIMIT {rest.MAX_LIST_LIMIT}",
            user,
        )
    out = []
    for row in rows:
        found = Grant(
            row["owner_id"], row["id"], row["write"], row["may_read_secret"], row["is_sensitive"]
        )
        out.append(_described(hub.out(row), found, user))
    return {"memories": out}


async def _own_or_grant(
    own: Awaitable[dict[str, Any]], hub: Hub, user: str, memory_id: str
) -> dict[str, Any] | Grant:
    """The answer of `own` (the operation on the user's own memory), or, when the user has
    no such memory, the grant of one shared with them; the same 404 when neither exists."""
    try:
        return await own
    except NotFound:
        found = await _granted(hub, user, memory_id)
        if found is None:
            raise
        return found


async def get(hub: Hub, user: str, memory_id: str) -> dict[str, Any]:
    """GET /api/memories/{id}: the user's own memory, or one shared with them."""
    found = await _own_or_grant(hub.get(user, memory_id), hub, user, memory_id)
    if not isinstance(found, Grant):
        return found
    async with user_tx(hub.pool, user) as conn:
        row = await hub._row(conn, found.owner, found.memory_id)
    return _described(hub.out(row), found, user)


async def update(hub: Hub, user: str, memory_id: str, patch: rest.MemoryPatch) -> dict[str, Any]:
    """PUT /api/memories/{id}: the user's own memory, or one shared with them for `write`; the
    change is the owner's (their log, their quota)."""
    found = await _own_or_grant(hub.update(user, memory_id, patch), hub, user, memory_id)
    if not isinstance(found, Grant):
        return found
    if not found.write:
        raise Forbidden(
            f"memory {found.memory_id!r} is shared with you read-only by {found.owner!r}; "
            "only a write share lets you update it"
        )
    # The grant was read in its own transaction: an unshare committed between it and this
    # write lets the write through, as if it had arrived a moment earlier. The write itself
    # is the owner's, under the owner's row lock, as any of the owner's writes.
    return _described(await hub.update(found.owner, found.memory_id, patch), found, user)


async def delete(hub: Hub, user: str, memory_id: str) -> dict[str, Any]:
    """DELETE /api/memories/{id}: only the owner deletes; a recipient is told so."""
    found = await _own_or_grant(hub.delete(user, memory_id), hub, user, memory_id)
    if not isinstance(found, Grant):
        return found
    raise Forbidden(
        f"memory {found.memory_id!r} is {found.owner!r}'s: only its owner can delete it "
        "(whatever the share's permission)"
    )


async def secret(hub: Hub, user: str, memory_id: str) -> dict[str, Any]:
    """POST /api/memories/{id}/secret: a shared sensitive memory's value only with a
    `secret_get` share; a shared plain memory's content with any share."""
    found = await _own_or_grant(hub.secret(user, memory_id), hub, user, memory_id)
    if not isinstance(found, Grant):
        return found
    if found.sensitive and not found.secret_get:
        raise Forbidden(
            f"memory {found.memory_id!r} is sensitive and {found.owner!r} shared it without "
            "secret_get: you see its placeholder, not its value"
        )
    out = await hub.secret(found.owner, found.memory_id)
    # Named by its UUID, not by its owner's number (which names one of the caller's own).
    return {**out, "id": out["uuid"], "owner": found.owner, "shared_by": found.owner}
