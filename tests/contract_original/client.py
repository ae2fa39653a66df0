"""The original project's clients (claude-memory-mcp at b0ef3ec) as the hub sees them, rewritten
from their contract in our own code: the same requests (method, path, query, JSON body and the
headers its urllib client sends) and the same reading of each answer (the fields it indexes,
the text its tools print), so that a change of shape on the hub fails here as it would fail
for its users.

`OriginalApi` is its HTTP helper; `HttpOnlyTools` its stdio MCP server's tools with
MEMORY_API_KEY set and sync disabled; `Machine` (tests/contract_original/machine.py) its hybrid
mode: a local SQLite cache with its schema and its sync engine's steps.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

# The original's tool-level content bound (ADR-0007), checked before any request.
MAX_CONTENT_CHARS = 1400


class ApiError(RuntimeError):
    """What its MCP server raises for an HTTP error: `API error <code>: <detail or body>`."""

    def __init__(self, status: int, body: str) -> None:
        detail: Any = None
        with contextlib.suppress(json.JSONDecodeError, AttributeError):
            detail = json.loads(body).get("detail")
        super().__init__(f"API error {status}: {detail if detail else body}")
        self.status = status
        self.body = body


@dataclass
class OriginalApi:
    """Its `_api_request`: urllib, a JSON body only when there is one (a falsy body sends
    none), `Authorization: Bearer` and `Content-Type: application/json` on every request."""

    base_url: str
    api_key: str
    timeout: float = 15.0

    def raw(self, method: str, path: str, body: Any = None) -> Any:
        """The request as its sync engine sends it: HTTPError propagates (it reads `.code`)."""
        data = json.dumps(body).encode() if body else None
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read().decode())

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """As its MCP server calls: an HTTP error becomes `ApiError`."""
        try:
            return self.raw(method, path, body)
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, exc.read().decode() if exc.fp else str(exc)) from None


@dataclass
class HttpOnlyTools:
    """Its stdio server's tools in HTTP-only mode: each returns the text the tool prints."""

    api: OriginalApi

    def memory_store(
        self,
        content: str,
        expanded_keywords: str,
        category: str = "facts",
        tags: str = "",
        importance: float = 0.5,
        force_sensitive: bool = False,
    ) -> str:
        assert len(content) <= MAX_CONTENT_CHARS
        result = self.api.call(
            "POST",
            "/api/memories",
            {
                "content": content,
                "category": category,
                "tags": tags,
                "expanded_keywords": expanded_keywords,
                "importance": max(0.0, min(1.0, float(importance))),
                "force_sensitive": force_sensitive,
            },
        )
        return (
            f"Stored memory #{result['id']} in category '{result['category']}' "
            f"with importance {result['importance']:.1f}"
        )

    def memory_recall(
        self,
        context: str,
        expanded_query: str,
        category: str | None = None,
        sort_by: str = "relevance",
        limit: int = 10,
    ) -> str:
        body = {
            "context": context,
            "expanded_query": expanded_query,
            "category": category,
            "sort_by": sort_by,
            "limit": limit,
        }
        rows = self.api.call("POST", "/api/memories/recall", body).get("memories", [])
        if not rows:
            return f"No memories found matching: {context}"
        lines = [
            f"#{row['id']} [{row['category']}] (importance: {row['importance']:.1f}) "
            f"{row['content']}\n  Tags: {row.get('tags') or 'none'} | Stored: {row['created_at']}"
            for row in rows
        ]
        return f"Found {len(rows)} memories (by {sort_by}):\n\n" + "\n\n".join(lines)

    def memory_list(self, category: str | None = None, limit: int = 20) -> str:
        params = f"?limit={limit}" + (f"&category={category}" if category else "")
        rows = self.api.call("GET", f"/api/memories{params}").get("memories", [])
        if not rows:
            return "No memories stored yet"
        lines = [
            f"#{row['id']} [{row['category']}] {row['content']}\n  Importance: "
            f"{row['importance']:.1f} | Tags: {row.get('tags') or 'none'} | "
            f"Stored: {row['created_at']}"
            for row in rows
        ]
        return f"Recent memories ({len(rows)} shown):\n\n" + "\n\n".join(lines)

    def memory_delete(self, memory_id: int) -> str:
        result = self.api.call("DELETE", f"/api/memories/{memory_id}")
        return f"Deleted memory #{result['deleted']}: {result['preview']}..."

    def secret_get(self, memory_id: int) -> str:
        result = self.api.call("POST", f"/api/memories/{memory_id}/secret")
        return f"#{result['id']} [{result['category']}] {result['content']}"

    def memory_update(self, memory_id: int, **fields: Any) -> str:
        body = {
            name: fields[name]
            for name in ("content", "tags", "importance", "expanded_keywords")
            if fields.get(name) is not None
        }
        assert body, "the tool refuses an update with nothing to change"
        self.api.call("PUT", f"/api/memories/{memory_id}", body)
        return f"Updated memory #{memory_id}"

    # The six sharing tools (API only). Their routes are the `share` helper's; these are what
    # the original sends and prints, for the contract tests that land with those routes.

    def memory_share(self, memory_id: int, shared_with: str, permission: str = "read") -> str:
        body = {"shared_with": shared_with, "permission": permission}
        result = self.api.call("POST", f"/api/memories/{memory_id}/share", body)
        return (
            f"Shared memory #{result['shared']} with {result['with']} "
            f"(permission: {result['permission']})"
        )

    def memory_unshare(self, memory_id: int, shared_with: str) -> str:
        result = self.api.call("DELETE", f"/api/memories/{memory_id}/share/{shared_with}")
        return f"Revoked sharing of memory #{result['unshared']} from {result['from']}"

    def memory_share_tag(self, tag: str, shared_with: str, permission: str = "read") -> str:
        body = {"tag": tag, "shared_with": shared_with, "permission": permission}
        result = self.api.call("POST", "/api/memories/share-tag", body)
        return (
            f"Shared tag '{result['shared_tag']}' with {result['with']} "
            f"(permission: {result['permission']})"
        )

    def memory_unshare_tag(self, tag: str, shared_with: str) -> str:
        self.api.call("DELETE", "/api/memories/share-tag", {"tag": tag, "shared_with": shared_with})
        return f"Revoked tag sharing of '{tag}' from {shared_with}"

    def memory_shared_with_me(self) -> str:
        memories = self.api.call("GET", "/api/memories/shared-with-me").get("memories", [])
        if not memories:
            return "No memories have been shared with you"
        lines = [
            f"#{m['id']} [{m['category']}] (from: {m['shared_by']}, {m['permission']}) "
            f"{m['content']}\n  Tags: {m.get('tags') or 'none'}"
            for m in memories
        ]
        return f"Memories shared with you ({len(memories)}):\n\n" + "\n\n".join(lines)

    def memory_my_shares(self) -> str:
        result = self.api.call("GET", "/api/memories/my-shares")
        memory_shares = result.get("memory_shares", [])
        tag_shares = result.get("tag_shares", [])
        if not memory_shares and not tag_shares:
            return "You haven't shared any memories or tags"
        lines = [f"Memory shares ({len(memory_shares)}):"] if memory_shares else []
        lines += [
            f"  #{s['memory_id']} -> {s['shared_with']} ({s['permission']}): {s['preview']}"
            for s in memory_shares
        ]
        if tag_shares:
            lines.append(f"Tag shares ({len(tag_shares)}):")
            lines += [
                f"  tag '{s['tag']}' -> {s['shared_with']} ({s['permission']})" for s in tag_shares
            ]
        return "\n".join(lines)


def since_query(last_sync_ts: str | None) -> str:
    """Its pull's query: the server's own `server_time`, percent-encoded whole."""
    if not last_sync_ts:
        return ""
    return f"?since={urllib.parse.quote(last_sync_ts, safe='')}"
