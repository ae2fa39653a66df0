"""A write storm: N threads POSTing memories until told to stop; what was acknowledged."""

from __future__ import annotations

import http.client
import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memory_core.unix_http import UnixHTTPConnection
from tests.support import wait_until

HEADERS = {"content-type": "application/json"}


@dataclass
class Storm:
    socket: Path
    clients: int = 16
    acked: dict[str, str] = field(default_factory=dict)  # id → content
    errors: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    retry: bool = False  # keep going through connection errors (handover)

    def _post(self, conn: UnixHTTPConnection, content: str) -> tuple[int, dict[str, Any]]:
        body = json.dumps({"content": content, "category": "facts"})
        conn.request("POST", "/api/memories", body=body, headers=HEADERS)
        response = conn.getresponse()
        return response.status, json.loads(response.read())

    def _run(self, n: int) -> None:
        i = 0
        conn = UnixHTTPConnection(self.socket, timeout=30.0)
        try:
            while not self._stop.is_set():
                i += 1
                content = f"storm writer {n} note {i} about topic{n}x{i} and zebra{i * 7 + n}"
                try:
                    status, answer = self._post(conn, content)
                except (OSError, http.client.HTTPException, ValueError):
                    conn.close()  # a fresh connection for the next attempt
                    with self._lock:
                        self.errors += 1
                    if not self.retry:
                        return
                    self._stop.wait(0.01)
                    continue
                with self._lock:
                    if status == 201:
                        self.acked[answer["id"]] = content
                    else:
                        self.errors += 1
        finally:
            conn.close()

    def start(self) -> Storm:
        for n in range(self.clients):
            t = threading.Thread(target=self._run, args=(n,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def count(self) -> int:
        with self._lock:
            return len(self.acked)

    def wait_for(self, acks: int, timeout: float = 30.0) -> None:
        """Until `acks` writes in all have been acknowledged."""
        wait_until(lambda: self.count() >= acks, timeout, f"{acks} acknowledged writes", 0.01)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)
        assert not any(t.is_alive() for t in self._threads)


def stored_ids(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT id, content FROM memories WHERE deleted_ms IS NULL"))
    finally:
        conn.close()


def fts_integrity(db: Path) -> None:
    """Raises sqlite3.DatabaseError when the FTS index does not match the table."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("INSERT INTO memories_fts(memories_fts) VALUES('integrity-check')")
        # rank = 1: also compare the index with the memories table (external content).
        conn.execute("INSERT INTO memories_fts(memories_fts, rank) VALUES('integrity-check', 1)")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
