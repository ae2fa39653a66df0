"""The hub as the daemon's store, for HTTP-only mode (`MEMORY_SYNC_DISABLE=1` with a key).

`RemoteStore` implements `MemoryBackend`, what the handlers in `memoryd.api.routes` call
"the store", and performs each operation as one request to the hub's REST API
(`memory_core.wire.rest` on both sides). Nothing is kept locally: no database, no cache, no
key file; sensitive content goes to the hub, which encrypts it server-side.

Every request has a short timeout: an unreachable or silent hub is a 503 `hub_unreachable`
within seconds, never a hang.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from memory_core.clock import iso_from_ms, ms_from_iso
from memory_core.errors import HubFailed, InvalidInput, NotFound, ServiceError
from memory_core.links import check_type
from memory_core.model import Memory, check_id, parse_num
from memory_core.wire import links as wire_links
from memory_core.wire import rest
from memoryd.remote.errors import answer, unreachable
from memoryd.store import records
from memoryd.store.backend import BackendHealth, MemoryBackend

# Below the shim's 4.5 s wait for the daemon, so a tool call gets the daemon's 503, not a
# shim timeout that blames the daemon.
DEFAULT_TIMEOUT = 4.0
M = TypeVar("M", bound=BaseModel)
EXPORT_PAGE = 500


def _memory(out: rest.MemoryOut) -> Memory:
    return Memory(
        id=out.id,
        # The hub never sends sensitive plaintext outside /secret; keep none of it.
        content=None if out.is_sensitive else out.content,
        category=out.category,
        tags=list(out.tags),
        expanded_keywords=out.expanded_keywords,
        importance=out.importance,
        is_sensitive=out.is_sensitive,
        project=out.project,
        source=out.source,
        created_ms=ms_from_iso(out.created_at),
        updated_ms=ms_from_iso(out.updated_at),
        supersedes=out.supersedes,
        num=out.num,
        shared_by=out.shared_by,
    )


def _stub(memory_id: str, *, content: str | None, is_sensitive: bool = False) -> Memory:
    """A memory known only by what a hub answer says (create, delete and secret answer with a
    few fields); the handlers read only those fields from it."""
    return Memory.blank(memory_id, content=content, is_sensitive=is_sensitive)


def _path_id(memory_id: str) -> str:
    """A UUID (or prefix) by the local store's rule, or a short integer id, which names the
    hub's own number for the memory and passes through as typed. Either way the id cannot
    escape the URL path."""
    number = parse_num(memory_id)
    return str(number) if number is not None else quote(check_id(memory_id), safe="")


class RemoteStore(MemoryBackend):
    def __init__(
        self,
        hub_url: str,
        api_key: str,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.hub_url = hub_url
        self.timeout = timeout
        self.client = httpx.AsyncClient(
            base_url=hub_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        wait_s: float | None = None,
    ) -> Any:
        limit = wait_s if wait_s is not None else self.timeout
        try:
            # httpx bounds each phase (connect, write, read); this bounds the whole request.
            async with asyncio.timeout(limit):
                response = await self.client.request(
                    method, path, json=json, params=params, timeout=httpx.Timeout(limit)
                )
        except (httpx.TransportError, TimeoutError) as exc:
            raise unreachable(exc, self.hub_url, limit) from None
        return answer(response, self.hub_url)

    def _parse(self, model: type[M], data: Any) -> M:
        try:
            return model.model_validate(data)
        except ValidationError:
            raise HubFailed(
                f"the hub at {self.hub_url} answered with an unexpected shape "
                f"(expected {model.__name__}); is it a memory_hub?"
            ) from None

    # ------------------------------------------------------------------------------ writes

    async def create(self, new: records.NewMemory) -> records.Created:
        body = {
            "content": new.content,
            "category": new.category,
            "tags": new.tags,
            "expanded_keywords": new.expanded_keywords,
            "importance": new.importance,
            "force_sensitive": new.force_sensitive,
            "project": new.project,
            "source": new.source,
            "supersedes": new.supersedes,
        }
        out = self._parse(rest.StoredOut, await self._call("POST", "/api/memories", json=body))
        memory = _stub(out.id, content=None, is_sensitive=out.is_sensitive)
        memory.category, memory.importance = out.category, out.importance
        return records.Created(memory, out.duplicate_of)

    async def update(self, memory_id: str, patch: records.Patch) -> Memory:
        # The patch's fields are the PUT body's, name for name; clear_project is `project: null`.
        fields = asdict(patch)
        del fields["clear_project"]
        body = {name: value for name, value in fields.items() if value is not None}
        if patch.clear_project:
            body["project"] = None
        data = await self._call("PUT", f"/api/memories/{_path_id(memory_id)}", json=body)
        return _memory(self._parse(rest.UpdatedOut, data).memory)

    async def delete(self, memory_id: str) -> tuple[Memory, bool]:
        data = await self._call("DELETE", f"/api/memories/{_path_id(memory_id)}")
        out = self._parse(rest.DeletedOut, data)
        was_live = out.preview != "[already deleted]"
        return _stub(out.deleted, content=out.preview), was_live

    async def import_many(self, items: list[records.NewMemory]) -> records.ImportResult:
        """All or nothing, as the store's import is: an item the hub refuses is a 422 naming it."""
        return self._imported(await self._import(items, skip_invalid=False))

    async def import_skipping_invalid(
        self, items: list[records.NewMemory]
    ) -> tuple[records.ImportResult, list[tuple[int, InvalidInput]]]:
        """One request: the hub imports what it takes and reports each item it set aside by
        its index (memoryd.import_rows.SkipsInvalid)."""
        out = await self._import(items, skip_invalid=True)
        refused = []
        for entry in out.rejected:
            index = entry.get("item")
            if not isinstance(index, int) or not 0 <= index < len(items):
                raise HubFailed(
                    f"the hub at {self.hub_url} reported a skipped item it was not sent"
                )
            error = InvalidInput(str(entry.get("reason") or "refused by the hub"))
            error.code = str(entry.get("code") or error.code)
            refused.append((index, error))
        return self._imported(out), refused

    async def _import(
        self, items: list[records.NewMemory], *, skip_invalid: bool
    ) -> rest.ImportOut:
        body = [
            {
                "content": item.content,
                "category": item.category,
                "tags": item.tags,
                "expanded_keywords": item.expanded_keywords,
                "importance": item.importance,
                "force_sensitive": item.force_sensitive,
                "project": item.project,
                "source": item.source,
                "supersedes": item.supersedes,
                "id": item.id,
                "created_at": iso_from_ms(item.created_ms) if item.created_ms else None,
                "updated_at": iso_from_ms(item.updated_ms) if item.updated_ms else None,
            }
            for item in items
        ]
        params = {"skip_invalid": "1" if skip_invalid else "0", "report": "1"}
        data = await self._call("POST", "/api/memories/import", json=body, params=params)
        return self._parse(rest.ImportOut, data)

    @staticmethod
    def _imported(out: rest.ImportOut) -> records.ImportResult:
        return records.ImportResult(out.imported, out.duplicates, out.existing, out.memories)

    async def link(self, src_id: str, link_type: str, dst_id: str) -> records.Link:
        body = {"target_id": dst_id, "link_type": link_type}
        data = await self._call("POST", f"/api/memories/{_path_id(src_id)}/links", json=body)
        out = self._parse(wire_links.LinkOut, data)
        return records.Link(out.src_id, out.link_type, out.dst_id)

    async def unlink(self, src_id: str, dst_id: str, link_type: str) -> records.Link:
        path = f"/api/memories/{_path_id(src_id)}/links/{_path_id(dst_id)}/{check_type(link_type)}"
        out = self._parse(wire_links.UnlinkOut, await self._call("DELETE", path)).unlinked
        return records.Link(out.src_id, out.link_type, out.dst_id)

    # ------------------------------------------------------------------------------- reads

    async def links_of(self, memory_id: str) -> records.LinksOf:
        data = await self._call("GET", f"/api/memories/{_path_id(memory_id)}/links")
        out = self._parse(wire_links.LinksOut, data)
        return records.LinksOf(
            out.id,
            [item.model_dump() for item in out.links_out],
            [item.model_dump() for item in out.links_in],
        )

    async def get(self, memory_id: str) -> Memory:
        data = await self._call("GET", f"/api/memories/{_path_id(memory_id)}")
        return _memory(self._parse(rest.MemoryOut, data))

    async def get_many(self, memory_ids: list[str]) -> tuple[list[Memory], list[str]]:
        """One request per id: the hub's REST API has no batch read. An id the hub does not
        know (or that is another user's: the hub answers 404 for it) is reported missing."""
        found: dict[str, Memory] = {}
        missing: list[str] = []
        for memory_id in memory_ids:
            try:
                memory = await self.get(memory_id)
            except (NotFound, InvalidInput):
                missing.append(memory_id)
                continue
            found.setdefault(memory.id, memory)
        return list(found.values()), missing

    async def secret(self, memory_id: str) -> tuple[Memory, str]:
        data = await self._call("POST", f"/api/memories/{_path_id(memory_id)}/secret")
        out = self._parse(rest.SecretOut, data)
        return _stub(out.id, content=None, is_sensitive=out.is_sensitive), out.content

    async def page(self, query: rest.ListQuery) -> tuple[list[Memory], int]:
        params = query.model_dump(exclude_none=True)
        out = self._parse(rest.ListOut, await self._call("GET", "/api/memories", params=params))
        return [_memory(m) for m in out.memories], out.total

    async def recall(self, query: records.RecallQuery) -> list[tuple[Memory, float]]:
        body = {
            "context": query.context,
            "expanded_query": query.expanded_query,
            "category": query.category,
            "project": query.project,
            "sort_by": query.sort_by,
            "limit": query.limit,
        }
        data = await self._call("POST", "/api/memories/recall", json=body)
        out = self._parse(rest.RecallOut, data)
        return [
            (_memory(m), m.score)
            for m in out.memories
            if query.include_sensitive or not m.is_sensitive
        ]

    async def count(self, wait_s: float | None = None) -> int:
        data = await self._call(
            "GET", "/api/memories", params={"limit": 1, "shared": "false"}, wait_s=wait_s
        )
        return self._parse(rest.ListOut, data).total

    async def stats(self) -> dict[str, Any]:
        data = await self._call("GET", "/api/stats")
        if not isinstance(data, dict):
            raise HubFailed(f"the hub at {self.hub_url} answered /api/stats with a non-object")
        return {**data, "mode": "http", "hub_url": self.hub_url}

    async def export(self, include_sensitive: bool) -> AsyncIterator[dict[str, Any]]:
        """Every live memory, page by page from the hub; sensitive content only when asked for,
        fetched one memory at a time through the hub's /secret."""
        offset = 0
        while True:
            memories, total = await self.page(
                rest.ListQuery(limit=EXPORT_PAGE, offset=offset, shared=False)
            )
            for memory in memories:
                content = memory.content
                if memory.is_sensitive:
                    content = (await self.secret(memory.id))[1] if include_sensitive else None
                yield {"memory": memory, "content": content}
            offset += len(memories)
            if not memories or offset >= total:
                return

    async def health(self, wait_s: float) -> BackendHealth:
        """The hub's memory count, or None and why the hub could not say."""
        try:
            memories = await self.count(wait_s=wait_s)
        except ServiceError as exc:
            return BackendHealth(location=self.hub_url, memories=None, hub=exc.message)
        return BackendHealth(location=self.hub_url, memories=memories, hub="ok")
