"""One machine of the original project in hybrid mode: its local SQLite cache, with its schema
(tags a TEXT column, the hub's integer id in `server_id`), and the steps of its sync engine,
each sending what it sends and applying the answer to SQLite as it does. Rewritten from its
contract in our own code (claude-memory-mcp b0ef3ec, src/claude_memory/sync.py)."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.contract_original.client import OriginalApi, since_query
from tests.contract_original.schema import ORIGINAL_SCHEMA

_UPDATE = (
    "UPDATE memories SET content = ?, category = ?, tags = ?, expanded_keywords = ?, "
    "importance = ?, is_sensitive = ?, updated_at = ? WHERE server_id = ?"
)
_INSERT = (
    "INSERT INTO memories (content, category, tags, expanded_keywords, importance, "
    "is_sensitive, created_at, updated_at, server_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class Machine:
    def __init__(self, path: Path, api: OriginalApi) -> None:
        self.api = api
        self.db = sqlite3.connect(path)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(ORIGINAL_SCHEMA)

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------------- the tools

    def memory_store(self, content: str, category: str = "facts", tags: str = "") -> int:
        """Its hybrid store: a local row first, then the immediate push (`try_sync_store`);
        answers the local id, which its tool prints."""
        now = datetime.now(UTC).isoformat()
        cursor = self.db.execute(
            "INSERT INTO memories (content, category, tags, expanded_keywords, importance, "
            "is_sensitive, created_at, updated_at) VALUES (?, ?, ?, '', 0.5, 0, ?, ?)",
            (content, category, tags, now, now),
        )
        self.db.commit()
        local_id = int(cursor.lastrowid or 0)
        body = {
            "content": content,
            "category": category,
            "tags": tags,
            "expanded_keywords": "",
            "importance": 0.5,
            "force_sensitive": False,
        }
        try:
            server_id = self.api.raw("POST", "/api/memories", body).get("id")
        except urllib.error.HTTPError as exc:
            if exc.code != 422:  # a 422 is dropped, anything else queued
                self._enqueue("store", {"local_id": local_id, **body})
            return local_id
        except OSError:  # unreachable: queued
            self._enqueue("store", {"local_id": local_id, **body})
            return local_id
        if server_id:
            self.db.execute("UPDATE memories SET server_id = ? WHERE id = ?", (server_id, local_id))
            self.db.commit()
        return local_id

    def memory_delete(self, local_id: int) -> None:
        """Local hard delete, then DELETE by the row's server id (404 counts as done)."""
        row = self.db.execute("SELECT server_id FROM memories WHERE id = ?", (local_id,)).fetchone()
        self.db.execute("DELETE FROM memories WHERE id = ?", (local_id,))
        self.db.commit()
        if row and row["server_id"]:
            try:
                self.api.raw("DELETE", f"/api/memories/{row['server_id']}")
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise

    def memory_count(self) -> dict[str, Any]:
        """Its `get_counts`: what memory_count prints in hybrid mode (no request)."""
        by_category = self.db.execute(
            "SELECT category, COUNT(*) AS c FROM memories GROUP BY category ORDER BY c DESC"
        ).fetchall()
        return {
            "total": self.db.execute("SELECT COUNT(*) FROM memories").fetchone()[0],
            "by_category": {row["category"]: row["c"] for row in by_category},
            "orphans": self.db.execute(
                "SELECT COUNT(*) FROM memories WHERE server_id IS NULL"
            ).fetchone()[0],
            "pending_ops": self.db.execute("SELECT COUNT(*) FROM pending_ops").fetchone()[0],
            "last_sync_ts": self.last_sync_ts(),
        }

    # ------------------------------------------------------------------------ the engine

    def check_auth(self) -> Any:
        return self.api.raw("GET", "/api/auth-check")

    def last_sync_ts(self) -> str | None:
        row = self.db.execute("SELECT value FROM sync_meta WHERE key = 'last_sync_ts'").fetchone()
        return str(row["value"]) if row else None

    def _save_cursor(self, server_time: str | None) -> None:
        if server_time:
            self.db.execute(
                "INSERT OR REPLACE INTO sync_meta (key, value) VALUES ('last_sync_ts', ?)",
                (server_time,),
            )
            self.db.commit()

    def _enqueue(self, op_type: str, payload: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO pending_ops (op_type, payload, created_at) VALUES (?, ?, ?)",
            (op_type, json.dumps(payload), datetime.now(UTC).isoformat()),
        )
        self.db.commit()

    def _upsert(self, mem: dict[str, Any]) -> None:
        """One pulled row, server wins; every value bound as it comes (tags into TEXT)."""
        server_id = mem["id"]
        values = (
            mem["content"],
            mem["category"],
            mem.get("tags", ""),
            mem.get("expanded_keywords", ""),
            mem["importance"],
            1 if mem.get("is_sensitive") else 0,
        )
        known = self.db.execute("SELECT id FROM memories WHERE server_id = ?", (server_id,))
        if known.fetchone():
            self.db.execute(_UPDATE, (*values, mem.get("updated_at", ""), server_id))
        else:
            self.db.execute(
                _INSERT, (*values, mem.get("created_at", ""), mem.get("updated_at", ""), server_id)
            )

    def pull(self) -> int:
        """Its `_pull_changes`: the rows changed since the cursor, deletions included."""
        answer = self.api.raw("GET", f"/api/memories/sync{since_query(self.last_sync_ts())}")
        memories = answer.get("memories", [])
        for mem in memories:
            if mem.get("deleted_at"):
                self.db.execute("DELETE FROM memories WHERE server_id = ?", (mem["id"],))
            else:
                self._upsert(mem)
        self.db.commit()
        self._save_cursor(answer.get("server_time"))
        return len(memories)

    def push_pending(self) -> None:
        """Its `_push_pending_ops`: queued stores and deletes, in order."""
        for op in self.db.execute("SELECT id, op_type, payload FROM pending_ops ORDER BY id"):
            payload = json.loads(op["payload"])
            if op["op_type"] == "store":
                server_id = self.api.raw("POST", "/api/memories", payload).get("id")
                self.db.execute(
                    "UPDATE memories SET server_id = ? WHERE id = ?",
                    (server_id, payload["local_id"]),
                )
            else:
                self.api.raw("DELETE", f"/api/memories/{payload['server_id']}")
            self.db.execute("DELETE FROM pending_ops WHERE id = ?", (op["id"],))
        self.db.commit()

    def full_resync(self) -> None:
        """Its `_full_resync`: push orphans not already on the server by content, then replace
        the cache with the server's live rows."""
        orphans = self.db.execute(
            "SELECT id, content, category, tags, expanded_keywords, importance FROM memories "
            "WHERE server_id IS NULL"
        ).fetchall()
        if orphans:
            on_server = {
                m["content"] for m in self.api.raw("GET", "/api/memories/sync")["memories"]
            }
            for orphan in orphans:
                if orphan["content"] in on_server:
                    continue
                body = dict(zip(orphan.keys(), orphan, strict=True))
                del body["id"]
                server_id = self.api.raw("POST", "/api/memories", body).get("id")
                self.db.execute(
                    "UPDATE memories SET server_id = ? WHERE id = ?", (server_id, orphan["id"])
                )
        answer = self.api.raw("GET", "/api/memories/sync")
        memories = answer.get("memories", [])
        server_ids = {m["id"] for m in memories}
        synced = self.db.execute("SELECT id, server_id FROM memories WHERE server_id IS NOT NULL")
        for row in synced.fetchall():
            if row["server_id"] not in server_ids:
                self.db.execute("DELETE FROM memories WHERE id = ?", (row["id"],))
        self.db.execute("DELETE FROM memories WHERE server_id IS NULL")
        for mem in memories:
            self._upsert(mem)
        self.db.commit()
        self._save_cursor(answer.get("server_time"))

    def rows(self) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self.db.execute(
                "SELECT content, category, tags, importance, is_sensitive, server_id "
                "FROM memories ORDER BY server_id"
            )
        ]
