"""Group commit through the real daemon (issue 20): stores arriving at once share transactions,
and still succeed or fail one by one. A bad store among them answers its own 4xx and changes
nothing, its neighbours are stored and queued for the hub; under a full disk every store answers
201 or 507, never a 500, and every 201 is on disk."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from memory_core.unix_http import UnixHTTPConnection
from tests.disk import FillableDisk, fillable_disk
from tests.service.storm import Storm, fts_integrity, stored_ids
from tests.support import Daemon, daemon_env, running_daemon, short_tmpdir, wait_until

# Hybrid mode towards a hub that never answers: every change stays queued in the outbox.
HYBRID = {"MEMORY_API_KEY": "mk_test_unreachable", "MEMORY_API_URL": "http://127.0.0.1:9"}
MISSING = "01900000-0000-7000-8000-000000000000"


def _outbox(db: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute("SELECT entity_id FROM sync_outbox")}
    finally:
        conn.close()


async def test_a_bad_store_among_concurrent_ones_fails_alone_with_its_own_4xx() -> None:
    with running_daemon(**HYBRID) as daemon:
        async with daemon.async_client() as client:
            bodies: list[dict[str, Any]] = [
                {"content": f"concurrent note {n} about harbour{n}"} for n in range(48)
            ]
            for n in (7, 23, 40):  # replaces a memory that does not exist: a 422
                bodies[n] = {"content": f"replaces nothing {n}", "supersedes": MISSING}
            answers = await asyncio.gather(
                *(client.post("/api/memories", json=body) for body in bodies)
            )
        statuses = [a.status_code for a in answers]
        assert statuses == [422 if n in (7, 23, 40) else 201 for n in range(48)], statuses
        for n in (7, 23, 40):
            error = answers[n].json()["error"]
            assert error["code"] == "invalid" and MISSING in error["message"]
        acked = {a.json()["id"]: b["content"] for a, b in zip(answers, bodies, strict=True)
                 if a.status_code == 201}  # fmt: skip
    assert stored_ids(daemon.db) == acked
    assert _outbox(daemon.db) == set(acked)  # the observer ran for each write, once
    fts_integrity(daemon.db)


@dataclass
class CountingStorm(Storm):
    """A storm that also counts the statuses it was answered."""

    statuses: Counter[int] = field(default_factory=Counter)

    def _post(self, conn: UnixHTTPConnection, content: str) -> tuple[int, dict[str, Any]]:
        status, answer = super()._post(conn, content)
        with self._lock:
            self.statuses[status] += 1
        return status, answer

    def seen(self, status: int) -> int:
        with self._lock:
            return self.statuses[status]


@pytest.fixture(params=["mounted", "rlimit"])
def disk(request: pytest.FixtureRequest) -> Iterator[FillableDisk]:
    with fillable_disk(prefer_mount=request.param == "mounted") as made:
        yield made


@pytest.mark.slow
def test_a_full_disk_under_concurrent_stores_answers_507_and_keeps_every_201(
    disk: FillableDisk,
) -> None:
    home = disk.root / "h"
    daemon = Daemon(home, daemon_env(home, MEMORY_SOCKET=str(short_tmpdir() / "d.sock")))
    daemon.start()
    storm = CountingStorm(daemon.socket, clients=8).start()
    after: dict[str, str] = {}
    try:
        storm.wait_for(100)
        assert daemon.proc is not None
        disk.fill(daemon.proc.pid)
        wait_until(lambda: storm.seen(507) >= 20, 60, "stores refused with 507", 0.01)
        # The storm ends before there is room again: SQLite reports some full-disk failures
        # as a plain I/O error, which the daemon tells from a real one by trying to write,
        # and a write freed during that try is a race of the test's making.
        storm.stop()
        disk.free()
        client = daemon.client()
        for n in range(20):  # writes work again once there is room
            content = f"stored once there was room again, note {n}"
            answer = client.post("/api/memories", json={"content": content})
            assert answer.status_code == 201, answer.text
            after[answer.json()["id"]] = content
    finally:
        storm.stop()
        assert daemon.stop() == 0
    assert set(storm.statuses) == {201, 507}, storm.statuses
    assert storm.errors == storm.statuses[507]  # no other failure: no 500, no dropped socket
    acked = storm.acked | after
    stored = stored_ids(daemon.db)
    lost = {i: c for i, c in acked.items() if stored.get(i) != c}
    assert not lost, f"{len(lost)} acknowledged stores lost"
    # A 507 stored nothing: all that is stored was acknowledged.
    assert set(stored) == set(acked)
    fts_integrity(daemon.db)
