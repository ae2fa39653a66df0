"""kill -9 and SIGTERM during a write storm from 16 clients: nothing acknowledged is lost."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest

from tests.service.storm import Storm, fts_integrity, stored_ids
from tests.support import Daemon, daemon_env, short_tmpdir

# Hybrid mode towards a hub that never answers: every change stays queued in the outbox.
HYBRID = {"MEMORY_API_KEY": "mk_test_unreachable", "MEMORY_API_URL": "http://127.0.0.1:9"}


@pytest.mark.slow
def test_kill_9_during_storm_loses_no_acknowledged_write() -> None:
    home = short_tmpdir()
    daemon = Daemon(home, daemon_env(home, **HYBRID)).start()
    storm = Storm(daemon.socket, clients=16).start()
    try:
        storm.wait_for(150)
        daemon.signal(signal.SIGKILL)
        assert daemon.proc is not None
        daemon.proc.wait(10)
    finally:
        storm.stop()
        daemon.stop()
    assert storm.errors > 0  # the kill really happened mid-storm
    # A fresh daemon on the same files recovers the WAL and serves every acknowledged write.
    outbox = _outbox_entities(daemon.db)  # as the crash left it, before any restart
    unsynced = [i for i in storm.acked if i not in outbox]
    assert not unsynced, f"{len(unsynced)} acknowledged writes missing from the outbox"
    again = Daemon(home, daemon_env(home, **HYBRID)).start()
    try:
        client = again.client()
        assert client.get("/health").json()["memories"] >= len(storm.acked)
        for memory_id in list(storm.acked)[:: max(1, len(storm.acked) // 50)]:
            assert client.get(f"/api/memories/{memory_id}").status_code == 200
    finally:
        assert again.stop() == 0
    stored = stored_ids(again.db)
    missing = {i: c for i, c in storm.acked.items() if stored.get(i) != c}
    assert not missing, f"{len(missing)} acknowledged writes lost"
    fts_integrity(again.db)


def _outbox_entities(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {row[0] for row in conn.execute("SELECT entity_id FROM sync_outbox")}
    finally:
        conn.close()


@pytest.mark.slow
def test_sigterm_during_storm_is_clean() -> None:
    home = short_tmpdir()
    daemon = Daemon(home, daemon_env(home)).start()
    storm = Storm(daemon.socket, clients=16).start()
    try:
        storm.wait_for(150)
        daemon.signal(signal.SIGTERM)
        assert daemon.proc is not None
        code = daemon.proc.wait(30)
    finally:
        storm.stop()
        daemon.stop()
    assert code == 0
    assert not daemon.socket.exists()  # removed by the daemon itself
    stored = stored_ids(daemon.db)
    missing = [i for i, c in storm.acked.items() if stored.get(i) != c]
    assert not missing, f"{len(missing)} acknowledged writes lost"
    fts_integrity(daemon.db)
