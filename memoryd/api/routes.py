"""Handlers for /health, /api/memories and /api/stats, and their table (memory_core.http.routing).
Thin: the body arrives parsed, the store does the work, the answer is a wire model."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from memory_core.clock import iso_from_ms, ms_from_iso
from memory_core.errors import InvalidInput
from memory_core.http.bodies import (
    IMPORT_LIMIT,
    parse_json,
    read_bytes,
    read_query,
    validation_message,
)
from memory_core.http.routing import endpoint, model_response
from memory_core.model import Memory
from memory_core.version import PROTOCOL, __version__
from memory_core.wire import rest
from memoryd.api.components import components
from memoryd.import_rows import import_skipping, skipped
from memoryd.importer import read_original_rows
from memoryd.store.memories import NewMemory, Patch, RecallQuery
from memoryd.store.transfer import IMPORT_BATCH


def _fields(memory: Memory, content: str | None) -> dict[str, Any]:
    """MemoryOut's fields, `content` as given: the shown one, or the export's plaintext."""
    return {
        "id": memory.id,
        "content": content,
        "category": memory.category,
        "tags": memory.tags,
        "expanded_keywords": memory.expanded_keywords,
        "importance": memory.importance,
        "is_sensitive": memory.is_sensitive,
        "project": memory.project,
        "source": memory.source,
        "created_at": iso_from_ms(memory.created_ms),
        "updated_at": iso_from_ms(memory.updated_ms),
        "supersedes": memory.supersedes,
        # Only export lines keep it (MemoryOut has no such field): an import restores them.
        "links": [{"id": dst, "type": kind} for kind, dst in memory.links],
        "shared_by": memory.shared_by,
    }


def memory_out(memory: Memory) -> rest.MemoryOut:
    return rest.MemoryOut(**_fields(memory, memory.shown_content()), num=memory.num)


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


# The shim's probe waits 0.5 s: /health must answer within it whatever the hub does.
HEALTH_HUB_TIMEOUT = 0.3


async def health(request: Request) -> rest.HealthOut:
    """Daemon health, version, protocol and memory count."""
    svc = components(request)
    state = await svc.store.health(HEALTH_HUB_TIMEOUT)
    return rest.HealthOut(
        status="ok",
        version=__version__,
        protocol=PROTOCOL,
        pid=os.getpid(),
        db=state.location,
        memories=state.memories,
        mode=svc.settings.mode,
        hub=state.hub,
        integrity=state.integrity,
    )


async def create_memory(request: Request, body: rest.MemoryIn) -> rest.StoredOut | Response:
    """Store a memory (deduplicated: a duplicate answers 200 with the id already stored)."""
    # The wire models' fields are the store records' own, name for name.
    created = await components(request).store.create(NewMemory(**body.model_dump()))
    memory = created.memory
    out = rest.StoredOut(
        id=memory.id,
        category=memory.category,
        importance=memory.importance,
        is_sensitive=memory.is_sensitive,
        duplicate_of=created.duplicate_of,
        num=memory.num,
    )
    return out if created.duplicate_of is None else model_response(out, 200)


async def list_memories(request: Request) -> rest.ListOut:
    """List memories, newest first."""
    query = read_query(request, rest.ListQuery)
    memories, total = await components(request).store.page(query)
    return rest.ListOut(memories=[memory_out(m) for m in memories], total=total)


async def get_memory(request: Request) -> rest.MemoryOut:
    """One memory."""
    return memory_out(await components(request).store.get(request.path_params["id"]))


async def get_memories(request: Request, body: rest.GetManyIn) -> rest.GetManyOut:
    """Several memories' full texts; ids naming none are listed, not an error."""
    memories, missing = await components(request).store.get_many(body.ids)
    return rest.GetManyOut(memories=[memory_out(m) for m in memories], not_found=missing)


async def update_memory(request: Request, body: rest.MemoryPatch) -> rest.UpdatedOut:
    """Update some fields."""
    memory = await components(request).store.update(
        request.path_params["id"],
        Patch(
            **body.model_dump(),
            clear_project="project" in body.model_fields_set and body.project is None,
            # The viewer says so, for the memory's history; any other value is not recorded.
            origin="viewer" if request.headers.get("x-memory-origin") == "viewer" else None,
        ),
    )
    return rest.UpdatedOut(updated=memory.id, memory=memory_out(memory))


async def delete_memory(request: Request) -> rest.DeletedOut:
    """Delete (tombstone) a memory."""
    memory, was_live = await components(request).store.delete(request.path_params["id"])
    preview = memory.shown_content()[:50] if was_live else "[already deleted]"
    return rest.DeletedOut(deleted=memory.id, preview=preview)


async def recall(request: Request, body: rest.RecallIn) -> rest.RecallOut:
    """Search memories by relevance."""
    results = await components(request).store.recall(RecallQuery(**body.model_dump()))
    return rest.RecallOut(
        memories=[
            rest.ScoredMemoryOut(**_fields(m, m.shown_content()), num=m.num, score=round(s, 6))
            for m, s in results
        ]
    )


async def secret(request: Request) -> rest.SecretOut:
    """Decrypted content of a sensitive memory."""
    memory, content = await components(request).store.secret(request.path_params["id"])
    return rest.SecretOut(id=memory.id, content=content, is_sensitive=memory.is_sensitive)


def _import_item(index: int, data: Any) -> NewMemory:
    if not isinstance(data, dict):
        raise InvalidInput(f"item {index}: must be a JSON object", item=index)
    try:
        item = rest.ImportItem.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"item {index}: {validation_message(exc)}", item=index) from None
    try:
        created = ms_from_iso(item.created_at) if item.created_at else None
        updated = ms_from_iso(item.updated_at) if item.updated_at else None
    except ValueError:
        raise InvalidInput(
            f"item {index}: created_at/updated_at must be ISO-8601", item=index
        ) from None
    return NewMemory(
        content=item.content,
        category=item.category,
        tags=item.tags,
        expanded_keywords=item.expanded_keywords,
        importance=item.importance,
        force_sensitive=item.force_sensitive or item.is_sensitive,
        project=item.project,
        source=item.source,
        supersedes=item.supersedes,
        id=item.id,
        links=item.links,
        created_ms=created,
        updated_ms=updated,
    )


_SQLITE_TYPES = ("application/vnd.sqlite3", "application/x-sqlite3")


async def import_memories(request: Request) -> rest.ImportOut:
    """Import a JSON array (or an original database). With `skip_invalid=1` (always for an
    original database) an invalid item is skipped and reported in `rejected`, not a 422."""
    raw = await read_bytes(request, IMPORT_LIMIT)
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    data: Any
    sources: list[dict[str, Any]] | None = None  # where each item is in what was sent
    if content_type in _SQLITE_TYPES or raw.startswith(b"SQLite format 3\x00"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "original.db"
            path.write_bytes(raw)
            rows = list(read_original_rows(path))
        # An original database's rows are skipped and reported by their ids when invalid.
        skip, data = True, [item for _, item in rows]
        sources = [{"row": row_id} for row_id, _ in rows]
    else:
        skip = _flag(request, "skip_invalid")
        data = parse_json(raw) if raw.strip() else None
    if isinstance(data, dict) and isinstance(data.get("memories"), list):
        data = data["memories"]
    if not isinstance(data, list):
        raise InvalidInput('send a JSON array of memories (or {"memories": [...]})')
    if sources is None:
        sources = [{"item": index} for index in range(len(data))]
    entries, rejected = [], []
    for index, item in enumerate(data):
        if index and index % IMPORT_BATCH == 0:
            await asyncio.sleep(0)  # a large import must not hold up other requests
        try:
            entries.append((sources[index], _import_item(index, item)))
        except InvalidInput as exc:
            if not skip:
                raise
            rejected.append(skipped(sources[index], exc, index))
    store = components(request).store
    if skip:
        result, refused = await import_skipping(store, entries)
        rejected.extend(refused)
    else:
        result = await store.import_many([new for _, new in entries])
    return rest.ImportOut(
        imported=result.imported,
        duplicates=result.duplicates,
        existing=result.existing,
        memories=result.results,
        rejected=rejected,
    )


async def export_memories(request: Request) -> Response:
    """Export as JSON lines."""
    include_sensitive = _flag(request, "include_sensitive")
    store = components(request).store

    async def lines() -> AsyncIterator[bytes]:
        async for entry in store.export(include_sensitive):
            # The same fields as MemoryOut, with the plaintext of a sensitive memory if asked.
            record = _fields(entry["memory"], entry["content"])
            yield json.dumps(record, ensure_ascii=False).encode() + b"\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


async def stats(request: Request) -> rest.StatsOut:
    """Counts by category, project and source."""
    found = components(request)
    out = await found.store.stats()
    learning = found.learning
    if learning is not None:  # auto-learn: on/off/paused and today's token spend
        out["learning"] = await learning.status()
    return rest.StatsOut.model_validate(out)


ENDPOINTS = (
    endpoint("GET", "/health", health, answer=rest.HealthOut),
    endpoint(
        "POST",
        "/api/memories",
        create_memory,
        body=rest.MemoryIn,
        answer=rest.StoredOut,
        status=201,
        also=(200,),
    ),
    endpoint(
        "GET",
        "/api/memories",
        list_memories,
        answer=rest.ListOut,
        query=("category", "tag", "project", "limit", "offset"),
    ),
    endpoint("POST", "/api/memories/recall", recall, body=rest.RecallIn, answer=rest.RecallOut),
    endpoint(
        "POST", "/api/memories/get", get_memories, body=rest.GetManyIn, answer=rest.GetManyOut
    ),
    endpoint(
        "POST",
        "/api/memories/import",
        import_memories,
        answer=rest.ImportOut,
        query=("skip_invalid",),
    ),
    endpoint("GET", "/api/memories/export", export_memories, query=("include_sensitive",)),
    endpoint("POST", "/api/memories/{id}/secret", secret, answer=rest.SecretOut),
    endpoint("GET", "/api/memories/{id}", get_memory, answer=rest.MemoryOut),
    endpoint(
        "PUT", "/api/memories/{id}", update_memory, body=rest.MemoryPatch, answer=rest.UpdatedOut
    ),
    endpoint("DELETE", "/api/memories/{id}", delete_memory, answer=rest.DeletedOut),
    endpoint("GET", "/api/stats", stats, answer=rest.StatsOut),
)
