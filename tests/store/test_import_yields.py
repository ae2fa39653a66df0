"""A bulk import shares the daemon's one writer with interactive writes (issue 17, defect 11).

Through the real daemon on its socket: while a large import runs, each store still answers
within a bound, and an import killed half-way leaves whole batches that a second run completes
without duplicates.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx

from memoryd.store.transfer import IMPORT_BATCH
from tests.support import Daemon, running_daemon, wait_until

ITEMS = 8_000
STORE_BOUND_S = 1.0  # far below the shim's 4.5 s, on a machine shared with other work


def _items(count: int) -> list[dict[str, str]]:
    return [
        {"content": f"imported note {n}: the build cache lives under /var/cache/b{n}"}
        for n in range(count)
    ]


def _live_count(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        (count,) = conn.execute("SELECT count(*) FROM memories WHERE deleted_ms IS NULL").fetchone()
    return int(count)


def _import_in_background(daemon: Daemon, items: list[dict[str, str]]) -> threading.Thread:
    def run() -> None:
        with daemon.client(timeout=300) as client, contextlib.suppress(httpx.TransportError):
            client.post("/api/memories/import", json=items)  # a killed daemon never answers

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_stores_answer_promptly_while_a_large_import_runs() -> None:
    with running_daemon() as daemon:
        client = daemon.client()
        client.post("/api/memories", json={"content": "a first store warms the daemon up"})
        importer = _import_in_background(daemon, _items(ITEMS))
        # Stores follow one another until the import has answered, so one is always waiting
        # on the writer while the import holds it.
        latencies = []
        n = 0
        while importer.is_alive():
            started = time.monotonic()
            response = client.post("/api/memories", json={"content": f"interactive note {n}"})
            latencies.append(time.monotonic() - started)
            assert response.status_code in (200, 201), response.text
            n += 1
        importer.join()
        assert max(latencies) < STORE_BOUND_S, sorted(latencies)[-5:]
        assert len(latencies) >= 3, "the import ended before stores could be measured"
        assert _live_count(daemon.db) == ITEMS + n + 1


def test_an_import_killed_half_way_leaves_whole_batches_and_resumes(tmp_path: Path) -> None:
    items = _items(IMPORT_BATCH * 20)
    with running_daemon() as daemon:
        importer = _import_in_background(daemon, items)
        wait_until(lambda: _live_count(daemon.db) > 0, 120, "the import's first batch")
        daemon.signal(signal.SIGKILL)
        importer.join()
        assert daemon.proc is not None and daemon.proc.stdout is not None
        daemon.proc.wait()
        daemon.proc.stdout.close()
        left = _live_count(daemon.db)
        assert left % IMPORT_BATCH == 0 and 0 < left < len(items)

        daemon.start()
        with daemon.client(timeout=300) as client:
            answer = client.post("/api/memories/import", json=items).json()
        assert (answer["imported"], answer["duplicates"]) == (len(items) - left, left)
        assert _live_count(daemon.db) == len(items)
