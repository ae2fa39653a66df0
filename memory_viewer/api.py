"""The memory API as the viewer calls it: the same HTTP endpoints and wire models every other
client uses (memory_core/wire/rest.py), through an injected httpx client, with the session's
credentials (the hub's API key; nothing on the daemon's socket)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from memory_core.errors import NotFound, RemoteError, Unavailable
from memory_core.wire import rest

LIST_PAGE = 10_000  # the list endpoint's largest page

M = TypeVar("M", bound=BaseModel)


class MemoryApi:
    def __init__(self, client: httpx.AsyncClient, headers: Mapping[str, str]) -> None:
        self._client = client
        self._headers = dict(headers)

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer, or the API's error raised as a RemoteError with its status, code
        and message (a 404 as NotFound), so that pages can show what the API said."""
        headers = {**self._headers, **kwargs.pop("headers", {})}
        try:
            response = await self._client.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException:
            raise Unavailable("the memory service did not answer in time") from None
        except (httpx.TransportError, OSError) as exc:
            raise Unavailable(f"the memory service cannot be reached ({exc})") from None
        if response.status_code >= 400:
            raise error_of(response)
        return response.json()

    async def optional(self, path: str) -> dict[str, Any] | None:
        """A GET of a subsystem that this server may not have (the hub has no auto-learn, a
        daemon may run without sync): None when it answers 404, 409 or 503."""
        try:
            found: dict[str, Any] = await self.call("GET", path)
        except NotFound:
            return None
        except RemoteError as exc:
            if exc.status in (404, 409, 503):
                return None
            raise
        except Unavailable:
            return None
        return found

    async def model(self, cls: type[M], method: str, path: str, **kwargs: Any) -> M:
        data = await self.call(method, path, **kwargs)
        try:
            return cls.model_validate(data)
        except ValidationError:
            raise RemoteError(502, "bad_answer", f"{path} answered an unexpected shape") from None

    # ---------------------------------------------------------------- memories

    async def recall(self, query: rest.RecallIn) -> rest.RecallOut:
        body = query.model_dump(exclude_none=True)
        return await self.model(rest.RecallOut, "POST", "/api/memories/recall", json=body)

    async def page(self, params: Mapping[str, str | int]) -> rest.ListOut:
        return await self.model(rest.ListOut, "GET", "/api/memories", params=dict(params))

    async def every_memory(self) -> list[rest.MemoryOut]:
        """Every live memory, page by page (the status chart, the hub's export)."""
        found: list[rest.MemoryOut] = []
        while True:
            page = await self.page({"limit": LIST_PAGE, "offset": len(found)})
            found += page.memories
            if not page.memories or len(found) >= page.total:
                return found

    async def get(self, memory_id: str) -> rest.MemoryOut:
        return await self.model(rest.MemoryOut, "GET", f"/api/memories/{memory_id}")

    async def update(self, memory_id: str, patch: dict[str, Any]) -> rest.UpdatedOut:
        # The daemon records the edit in the memory's history as the viewer's.
        headers = {"X-Memory-Origin": "viewer"}
        return await self.model(
            rest.UpdatedOut, "PUT", f"/api/memories/{memory_id}", json=patch, headers=headers
        )

    async def delete(self, memory_id: str) -> rest.DeletedOut:
        return await self.model(rest.DeletedOut, "DELETE", f"/api/memories/{memory_id}")

    async def secret(self, memory_id: str) -> rest.SecretOut:
        return await self.model(rest.SecretOut, "POST", f"/api/memories/{memory_id}/secret")

    async def import_items(self, items: list[Any]) -> rest.ImportOut:
        """All or nothing, on the daemon (its default) and on the hub (which skips refused
        rows unless told not to): the page shows the refused item's error instead."""
        params = {"skip_invalid": "0"}
        return await self.model(
            rest.ImportOut, "POST", "/api/memories/import", json=items, params=params
        )

    async def import_database(self, raw: bytes) -> rest.ImportOut:
        headers = {"content-type": "application/vnd.sqlite3"}
        return await self.model(
            rest.ImportOut, "POST", "/api/memories/import", content=raw, headers=headers
        )

    async def export_lines(self, include_sensitive: bool) -> AsyncIterator[bytes]:
        """The export endpoint's JSON lines, to stream; a server without it (the hub) gets
        the same lines from its list (and, when asked, each sensitive memory's secret). An
        error answer is raised here, before the download starts."""
        params = {"include_sensitive": "1"} if include_sensitive else {}
        request = self._client.build_request(
            "GET", "/api/memories/export", params=params, headers=self._headers
        )
        response = await self._client.send(request, stream=True)
        # The hub has no export: it answers 404, or 422 where it reads "export" as a bad id.
        if response.status_code in (404, 422):
            await response.aclose()
            return self._listed_lines(include_sensitive)
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            raise error_of(response)
        return _streamed_lines(response)

    async def _listed_lines(self, include_sensitive: bool) -> AsyncIterator[bytes]:
        for memory in await self.every_memory():
            record: dict[str, Any] = memory.model_dump()
            if memory.is_sensitive:
                secret = await self.secret(memory.id) if include_sensitive else None
                record["content"] = secret.content if secret else None
            yield json.dumps(record, ensure_ascii=False).encode() + b"\n"

    # ---------------------------------------------------------------- the rest

    async def auth_check(self) -> str:
        """Who the session's key belongs to (the hub's GET /api/auth-check)."""
        found = await self.call("GET", "/api/auth-check")
        return str(found.get("user_id", ""))

    async def learned(self, limit: int) -> list[dict[str, Any]] | None:
        found = await self.optional(f"/api/learn/learned?limit={limit}")
        return None if found is None else list(found.get("learned", []))

    async def undo_learned(self, entry: int) -> dict[str, Any]:
        found: dict[str, Any] = await self.call("POST", f"/api/learn/learned/{entry}/undo")
        return found

    async def status_parts(self) -> dict[str, dict[str, Any] | None]:
        paths = {
            "health": "/health",
            "stats": "/api/stats",
            "sync": "/api/sync/status",
            "semantic": "/api/semantic",
            "learn": "/api/learn/status",
        }
        answers = await asyncio.gather(*(self.optional(p) for p in paths.values()))
        return dict(zip(paths, answers, strict=True))


def error_of(response: httpx.Response) -> RemoteError | NotFound:
    try:
        body = response.json()["error"]
        code, message = str(body["code"]), str(body["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", f"the memory service answered {response.status_code}"
    if response.status_code == 404:
        return NotFound(message)
    return RemoteError(response.status_code, code, message)


async def _streamed_lines(response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for text in response.aiter_lines():
            if text:
                yield text.encode() + b"\n"
    finally:
        await response.aclose()
