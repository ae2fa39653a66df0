"""The curation endpoints as the viewer calls them (memoryd's memoryd/api/routes_curation.py):
the hooks' injection journal, a memory's history and the trash, marking as superseded, the
per-project learn pause and the per-day counters. A server without them (the hub: hooks,
history and auto-learn live in memoryd) answers None, and the pages say so."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from memory_core.errors import NotFound, RemoteError
from memory_core.links import SUPERSEDES
from memory_core.wire import links as wire_links
from memory_core.wire import rest
from memory_viewer.api import MemoryApi


class CurationApi(MemoryApi):
    async def sessions(self, limit: int) -> list[dict[str, Any]] | None:
        found = await self.optional(f"/api/sessions?limit={limit}")
        return None if found is None else list(found.get("sessions", []))

    async def session(self, session_id: str) -> dict[str, Any]:
        path = f"/api/sessions/{quote(session_id, safe='')}"
        found: dict[str, Any] = await self.call("GET", path)
        return found

    async def many(self, ids: list[str]) -> dict[str, rest.MemoryOut]:
        """The memories of `ids` that still exist, by id (100 per call, as the API takes)."""
        found: dict[str, rest.MemoryOut] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 100):
            body = {"ids": unique[start : start + 100]}
            page = await self.model(rest.GetManyOut, "POST", "/api/memories/get", json=body)
            found.update((m.id, m) for m in page.memories)
        return found

    async def history(self, memory_id: str) -> dict[str, Any] | None:
        return await self.optional(f"/api/memories/{memory_id}/history")

    async def known(self, ids: list[str]) -> dict[str, rest.MemoryOut] | None:
        """`many`, or None from a server without `POST /api/memories/get` (the hub): for what
        a page shows beside an id, never needed to show the page."""
        try:
            return await self.many(ids) if ids else {}
        except NotFound:
            return None
        except RemoteError as exc:
            if exc.status == 405:
                return None
            raise

    async def links(self, memory_id: str) -> list[dict[str, str]]:
        """The memory's typed links both ways (`GET /api/memories/{id}/links`, which the
        daemon and the hub both serve), each `{"type", "id", "direction": "out"|"in"}`, but
        `supersedes`: the page shows that apart. None from a server without the endpoint."""
        found = await self.optional(f"/api/memories/{quote(memory_id, safe='')}/links")
        if found is None:
            return []
        try:
            links = wire_links.LinksOut.model_validate(found)
        except ValidationError:
            return []
        ends = [("out", end) for end in links.links_out] + [("in", end) for end in links.links_in]
        return [
            {"type": end.type, "id": end.id, "direction": direction}
            for direction, end in ends
            if end.type != SUPERSEDES
        ]

    async def supersede(self, memory_id: str, by: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.call(
            "POST", f"/api/memories/{memory_id}/superseded-by", json={"by": by}
        )
        return found

    async def trash(self, limit: int) -> list[dict[str, Any]] | None:
        found = await self.optional(f"/api/trash?limit={limit}")
        return None if found is None else list(found.get("trash", []))

    async def restore(self, entry: int) -> tuple[str, int]:
        """The restored memory's id, and how many of its links were not brought back (their
        targets are deleted)."""
        found = await self.call("POST", f"/api/trash/{entry}/restore")
        return str(found["restored"]), len(found.get("links_dropped") or [])

    async def empty_trash(self) -> int:
        found = await self.call("DELETE", "/api/trash")
        return int(found["purged"])

    async def paused(self) -> dict[str, int] | None:
        found = await self.optional("/api/learn/paused")
        return None if found is None else dict(found.get("paused", {}))

    async def set_paused(self, project: str, paused: bool) -> None:
        await self.call("PUT", "/api/learn/paused", json={"project": project, "paused": paused})

    async def daily(self, days: int) -> dict[str, Any] | None:
        return await self.optional(f"/api/stats/daily?days={days}")
