"""Typed links on the hub (memory_core.links has the rules): link, unlink, and a memory's
links in both directions, for one user.

A link is a REST write of its source memory, like an update: `supersedes` sets that field,
the other types change its `links` list; either becomes an op in the user's log, so synced
daemons receive it, and the materialised row shows it at once.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from memory_core import links as rule
from memory_core.errors import Conflict, NotFound
from memory_hub.db import user_tx
from memory_hub.ids import resolve_memory_id
from memory_hub.memories import Hub, Write


def follow(conn: asyncpg.Connection, user: str, link_type: str) -> rule.Step:
    """Follows the user's live links of `link_type` one hop."""

    async def step(frontier: list[str]) -> list[str]:
        if link_type == rule.SUPERSEDES:
            rows = await conn.fetch(
                "SELECT supersedes AS dst FROM memories WHERE user_id = $1 "
                "AND id = ANY($2::text[]) AND deleted_ms IS NULL AND supersedes IS NOT NULL",
                user,
                frontier,
            )
        else:
            rows = await conn.fetch(
                "SELECT e->>1 AS dst FROM memories m, jsonb_array_elements(m.links) e "
                "WHERE m.user_id = $1 AND m.id = ANY($2::text[]) AND m.deleted_ms IS NULL "
                "AND e->>0 = $3",
                user,
                frontier,
                link_type,
            )
        return [str(r["dst"]) for r in rows]

    return step


async def _numbers(conn: asyncpg.Connection, user: str, ids: list[str]) -> dict[str, int]:
    """The integer ids of the user's memories named by UUID (deleted ones included)."""
    rows = await conn.fetch(
        "SELECT id, num FROM memories WHERE user_id = $1 AND id = ANY($2::text[])", user, ids
    )
    return {str(row["id"]): int(row["num"]) for row in rows}


def _answer(src: str, link_type: str, dst: str, nums: dict[str, int]) -> dict[str, Any]:
    """The original's `{src_id, dst_id, link_type}` with integer ids (as its clients show and
    send them), each memory's UUID beside it (memory_hub.original does the same for memories)."""
    return {
        "src_id": nums[src],
        "dst_id": nums[dst],
        "link_type": link_type,
        "src_uuid": src,
        "dst_uuid": dst,
    }


def _ends(found: list[dict[str, str]], nums: dict[str, int]) -> list[dict[str, Any]]:
    return [{"id": nums[end["id"]], "uuid": end["id"], "type": end["type"]} for end in found]


async def link(hub: Hub, user: str, src_id: str, link_type: str, dst_id: str) -> dict[str, Any]:
    """Link two of the user's live memories; 404 when either is not one (another user's
    memory included), 409 when the link exists or the source supersedes another already, 422
    for an unknown type or a cycle."""
    kind = rule.check_type(link_type)
    async with user_tx(hub.pool, user) as conn:
        await hub._e2e_guard(conn, user)
        src = await hub._row(conn, user, src_id)
        dst = await hub._row(conn, user, dst_id)
        await rule.refuse_cycle(src["id"], kind, dst["id"], follow(conn, user, kind))
        current: rule.Links = list(src["links"])
        if kind == rule.SUPERSEDES:
            if src["supersedes"] == dst["id"]:
                raise Conflict(f"memory {src['id']} already supersedes {dst['id']}")
            if src["supersedes"] is not None:
                raise Conflict(
                    f"memory {src['id']} already supersedes {src['supersedes']} (a memory "
                    "replaces one other); unlink that first"
                )
            changed: dict[str, Any] = {"supersedes": dst["id"]}
        else:
            if [kind, dst["id"]] in current:
                raise Conflict(f"memory {src['id']} already has a {kind} link to {dst['id']}")
            changed = {"links": rule.with_link(current, kind, dst["id"])}
        await hub.write(conn, user, [Write(src["id"], changed)])
    return _answer(src["id"], kind, dst["id"], {src["id"]: src["num"], dst["id"]: dst["num"]})


async def unlink(hub: Hub, user: str, src_id: str, dst_id: str, link_type: str) -> dict[str, Any]:
    """Remove a link of the user's live memory; 404 when there is no such link."""
    kind = rule.check_type(link_type)
    async with user_tx(hub.pool, user) as conn:
        await hub._e2e_guard(conn, user)
        src = await hub._row(conn, user, src_id)
        try:  # the target may have been deleted since
            dst = await resolve_memory_id(conn, user, dst_id, include_deleted=True)
        except NotFound:
            raise NotFound(f"memory {src['id']} has no {kind} link to {dst_id[:64]!r}") from None
        current: rule.Links = list(src["links"])
        if kind == rule.SUPERSEDES and src["supersedes"] == dst:
            changed: dict[str, Any] = {"supersedes": None}
        elif kind != rule.SUPERSEDES and [kind, dst] in current:
            changed = {"links": rule.without_link(current, kind, dst)}
        else:
            raise NotFound(f"memory {src['id']} has no {kind} link to {dst_id[:64]!r}")
        await hub.write(conn, user, [Write(src["id"], changed)])
        nums = await _numbers(conn, user, [src["id"], dst])
    return {"unlinked": _answer(src["id"], kind, dst, nums)}


async def links_of(hub: Hub, user: str, memory_id: str) -> dict[str, Any]:
    """GET /api/memories/{id}/links: the memory's ids, and its links out and in, each end
    with its integer id and its UUID."""
    async with user_tx(hub.pool, user) as conn:
        await hub._e2e_guard(conn, user)
        row = await hub._row(conn, user, memory_id)
        return {"id": row["num"], "uuid": row["id"], **await both_ways(conn, user, row)}


async def both_ways(conn: asyncpg.Connection, user: str, row: asyncpg.Record) -> dict[str, Any]:
    """`links_out` and `links_in` of the user's memory `row` (read in `conn`'s transaction):
    the live memories it links to and those linking to it."""
    outgoing: rule.Links = list(row["links"])
    targets = [dst for _, dst in outgoing] + [row["supersedes"] or ""]
    live = await conn.fetch(
        "SELECT id, num FROM memories WHERE user_id = $1 AND id = ANY($2::text[]) "
        "AND deleted_ms IS NULL",
        user,
        targets,
    )
    # Containment probes the GIN index answers (the pool's codec encodes them as JSON).
    probes = [[[kind, row["id"]]] for kind in rule.LISTED_TYPES]
    incoming = await conn.fetch(
        "SELECT m.id, m.num, e->>0 AS type FROM memories m, jsonb_array_elements(m.links) e "
        "WHERE m.user_id = $1 AND m.deleted_ms IS NULL "
        "AND (m.links @> $3::jsonb OR m.links @> $4::jsonb OR m.links @> $5::jsonb) "
        "AND e->>1 = $2 "
        "UNION ALL SELECT id, num, 'supersedes' FROM memories WHERE user_id = $1 "
        "AND supersedes = $2 AND deleted_ms IS NULL ORDER BY 3, 1",
        user,
        row["id"],
        *probes,
    )
    nums = {str(r["id"]): int(r["num"]) for r in (*live, *incoming)}
    shown_out = rule.shown(outgoing, row["supersedes"], set(nums))
    shown_in = [{"id": str(r["id"]), "type": str(r["type"])} for r in incoming]
    return {"links_out": _ends(shown_out, nums), "links_in": _ends(shown_in, nums)}
