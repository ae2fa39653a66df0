"""kill -9 in the middle of a batch write, then a restart: the bulk import of 10,000 memories
(batches of IMPORT_BATCH, each one writer transaction) while other clients keep writing, and
the pull of 3,000 ops from a real hub (pages of 500, each applied with its cursor in one
transaction). Nothing that was acknowledged is lost, no batch is applied in part, every stored
change is queued for the hub, the full-text index matches, and the interrupted work completes
after the restart."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from memory_core.hlc import pack
from memory_core.ids import uuid7
from memory_core.wire import sync
from memoryd.store.transfer import IMPORT_BATCH
from tests.adversarial.daemons import LoggedDaemon, start_logged
from tests.hub.ops import put, replica
from tests.hubs import KEYS
from tests.service.storm import Storm, fts_integrity, stored_ids
from tests.support import HubServer, wait_until

# Hybrid mode towards a hub that never answers: every change stays queued in the outbox.
UNREACHABLE_HUB = {"MEMORY_API_KEY": "mk_test_unreachable", "MEMORY_API_URL": "http://127.0.0.1:9"}
IMPORTED = 10_000
PULLED = 3_000
KEY = "0f" * 32


def _read(db: Path, sql: str) -> list[Any]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


class Request(threading.Thread):
    """One long request in the background; `answer` is its status, or the error it met."""

    def __init__(self, client: httpx.Client, method: str, path: str, body: Any) -> None:
        super().__init__(daemon=True)
        self.client, self.method, self.path, self.body = client, method, path, body
        self.answer: int | str | None = None

    def run(self) -> None:
        try:
            self.answer = self.client.request(self.method, self.path, json=self.body).status_code
        except httpx.HTTPError as exc:
            self.answer = type(exc).__name__


def _killed(daemon: LoggedDaemon) -> None:
    daemon.signal(signal.SIGKILL)
    assert daemon.proc is not None
    daemon.proc.wait(10)
    daemon.stop()


@pytest.mark.timeout(360)  # 10,000 items imported, killed, imported again
def test_kill_9_inside_a_bulk_import_leaves_whole_batches_and_every_acknowledged_write() -> None:
    daemon = start_logged(**UNREACHABLE_HUB)
    items = [
        {"id": uuid7(), "content": f"imported note {i} about subject{i} and gadget{i * 7}"}
        for i in range(IMPORTED)
    ]
    storm = Storm(daemon.socket, clients=2).start()
    try:
        storm.wait_for(20)
        bulk = Request(daemon.client(timeout=300), "POST", "/api/memories/import", items)
        bulk.start()
        count = "SELECT COUNT(*) FROM memories WHERE content LIKE 'imported note %'"
        wait_until(
            lambda: bulk.answer is not None or _read(daemon.db, count)[0][0] >= IMPORTED // 5,
            120,
            "a fifth of the import stored",
            0.01,
        )
        _killed(daemon)
        bulk.join(30)
    finally:
        storm.stop()
        daemon.stop()
    assert not isinstance(bulk.answer, int), f"the import finished ({bulk.answer}) before the kill"
    stored = stored_ids(daemon.db)  # as the crash left it (SQLite replays the log)
    ids = [item["id"] for item in items]
    imported = [i for i in ids if i in stored]
    # Whole batches, in order: the import commits IMPORT_BATCH items per transaction.
    assert imported == ids[: len(imported)], "imported items that are not the first ones"
    assert len(imported) % IMPORT_BATCH == 0, f"{len(imported)} imported: a batch in part"
    lost = {i: c for i, c in storm.acked.items() if stored.get(i) != c}
    assert not lost, f"{len(lost)} acknowledged writes lost"
    queued = {row[0] for row in _read(daemon.db, "SELECT entity_id FROM sync_outbox")}
    assert set(stored) <= queued, "a stored memory whose change is not queued for the hub"
    fts_integrity(daemon.db)

    daemon.start()  # the import, sent again, completes
    try:
        again = daemon.client(timeout=300).post("/api/memories/import", json=items)
        assert again.status_code == 200, again.text
        # Every item once, every acknowledged write, and at most one unacknowledged write per
        # storm client (stored, but killed before it could answer).
        served = daemon.client().get("/health").json()["memories"]
        assert IMPORTED + len(storm.acked) <= served <= IMPORTED + len(storm.acked) + storm.clients
    finally:
        assert daemon.stop() == 0
    fts_integrity(daemon.db)


def _fill_hub(hub: HubServer) -> dict[str, int]:
    """PULLED memories in alice's op log, pushed by another replica; entity -> seq."""
    client = hub.client(KEYS["alice"])
    source, now, seq_of = replica(), int(time.time() * 1000), {}
    for first in range(0, PULLED, sync.MAX_PUSH_OPS):
        ops = []
        for n in range(first + 1, min(first + sync.MAX_PUSH_OPS, PULLED) + 1):
            ops.append(put(source, n, uuid7(), pack(now, n), category="facts",
                           content=f"pulled note {n} about harbour{n} and crane{n * 3}",
                           tags=["pulled"], expanded_keywords="", importance=0.5,
                           is_sensitive=False, project=None, source="manual",
                           created_ms=now))  # fmt: skip
        pushed = client.post(sync.PUSH_PATH, json={"replica_id": source, "ops": ops})
        assert pushed.status_code == 200, pushed.text
        entity = {op["op_id"]: op["entity_id"] for op in ops}
        seq_of.update({entity[ack["op_id"]]: ack["seq"] for ack in pushed.json()["acks"]})
    return seq_of


@pytest.mark.timeout(360)  # 3,000 ops through a real hub, twice: slow on a loaded 2-core box
def test_kill_9_inside_a_sync_pull_applies_whole_pages_with_their_cursor(
    hub_server: HubServer,
) -> None:
    seq_of = _fill_hub(hub_server)
    head = max(seq_of.values())
    env = {"MEMORY_API_KEY": KEYS["alice"], "MEMORY_API_URL": hub_server.url,
           "MEMORY_ENCRYPTION_KEY": KEY, "MEMORY_SYNC_INTERVAL": "3600"}  # fmt: skip
    daemon = start_logged(**env)  # its start-up round pulls
    storm = Storm(daemon.socket, clients=2).start()

    def cursor() -> int:
        rows = _read(daemon.db, "SELECT cursor FROM sync_state WHERE id = 1")
        return int(rows[0][0]) if rows else 0

    try:
        wait_until(lambda: 0 < cursor() < head or cursor() >= head, 120, "a pull under way", 0.005)
        _killed(daemon)
    finally:
        storm.stop()
        daemon.stop()
    at = cursor()
    assert 0 < at < head, f"the pull was not under way when killed (cursor {at} of {head})"
    stored = stored_ids(daemon.db)
    applied = {e for e in seq_of if e in stored}
    assert applied == {e for e, seq in seq_of.items() if seq <= at}, "a page applied in part"
    lost = {i: c for i, c in storm.acked.items() if stored.get(i) != c}
    assert not lost, f"{len(lost)} acknowledged writes lost"
    fts_integrity(daemon.db)

    daemon.start()  # its start-up round pulls the rest
    try:
        client = daemon.client()
        wait_until(
            lambda: client.get("/api/sync/status").json()["cursor"] >= head,
            100,
            "the pull completed after the restart",
        )
    finally:
        assert daemon.stop() == 0
    assert set(seq_of) <= set(stored_ids(daemon.db))
    fts_integrity(daemon.db)
