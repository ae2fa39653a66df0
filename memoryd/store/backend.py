"""What the API handlers call "the store": the local SQLite store (`MemoryStore`), or in
HTTP-only mode the hub itself (`memoryd.remote.store.RemoteStore`). Both declare that they
implement `MemoryBackend`, so mypy checks each against it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from memory_core.model import Memory
from memory_core.wire.rest import ListQuery
from memoryd.store import records


@dataclass(frozen=True)
class BackendHealth:
    """What /health shows of the store."""

    location: str  # the database file, or the hub's URL
    memories: int | None  # live memories; None when the hub could not say
    hub: str | None = None  # HTTP-only mode: "ok", or why the hub could not answer
    integrity: str | None = None  # a large file's later check: running, or how it failed


class MemoryBackend(Protocol):
    async def create(self, new: records.NewMemory) -> records.Created: ...

    async def update(self, memory_id: str, patch: records.Patch) -> Memory: ...

    async def delete(self, memory_id: str) -> tuple[Memory, bool]:
        """Returns the memory as it was, and whether it was live."""
        ...

    async def import_many(self, items: list[records.NewMemory]) -> records.ImportResult: ...

    async def link(self, src_id: str, link_type: str, dst_id: str) -> records.Link:
        """Link two live memories (memory_core.links)."""
        ...

    async def unlink(self, src_id: str, dst_id: str, link_type: str) -> records.Link: ...

    async def links_of(self, memory_id: str) -> records.LinksOf: ...

    async def get(self, memory_id: str) -> Memory: ...

    async def get_many(self, memory_ids: list[str]) -> tuple[list[Memory], list[str]]:
        """The live memories named (in the order asked, each once) and the ids that name
        none."""
        ...

    async def secret(self, memory_id: str) -> tuple[Memory, str]:
        """A live memory and its full text, a sensitive one's unsealed."""
        ...

    async def page(self, query: ListQuery) -> tuple[list[Memory], int]:
        """Live memories, most recently updated first, and how many match in all."""
        ...

    async def recall(self, query: records.RecallQuery) -> list[tuple[Memory, float]]: ...

    async def stats(self) -> dict[str, Any]: ...

    def export(self, include_sensitive: bool) -> AsyncIterator[dict[str, Any]]:
        """Every live memory as {"memory": Memory, "content": its full text, or None for a
        sensitive one unless `include_sensitive`}."""
        ...

    async def health(self, wait_s: float) -> BackendHealth:
        """Within about `wait_s` seconds, whatever the hub does."""
        ...
