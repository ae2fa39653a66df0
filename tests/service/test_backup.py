"""`memory backup`: a consistent, private copy taken while the daemon is writing."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.service.storm import Storm, fts_integrity, stored_ids
from tests.support import Daemon, daemon_env, short_tmpdir

MEMORY = "from memoryd.cli.memory_cmd import main; raise SystemExit(main())"


def memory(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", MEMORY, *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow
def test_backup_during_a_write_storm_is_consistent_and_private() -> None:
    home = short_tmpdir()
    env = daemon_env(home)
    daemon = Daemon(home, env).start()
    storm = Storm(daemon.socket, clients=8).start()
    target = short_tmpdir() / "backups" / "memory-copy.db"
    try:
        storm.wait_for(50)
        acked_before = dict(storm.acked)
        done = memory(env, "backup", str(target))
        assert storm.count() > len(acked_before)  # the storm went on while the copy was taken
    finally:
        storm.stop()
        assert daemon.stop() == 0
    assert done.returncode == 0, done.stderr
    assert f"to {target}" in done.stdout and "Keep your key" in done.stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    copy = stored_ids(target)
    assert all(copy.get(i) == c for i, c in acked_before.items())  # everything acked before
    assert set(copy) <= set(stored_ids(daemon.db))  # and nothing that was never written
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    conn.close()
    fts_integrity(target)
    assert not Path(f"{target}-wal").exists()

    again = memory(env, "backup", str(target))
    assert again.returncode == 1 and "already exists" in again.stderr
    assert memory(env, "backup", "--force", str(target)).returncode == 0


@pytest.mark.slow
def test_restored_backup_serves(tmp_path: Path) -> None:
    home = short_tmpdir()
    env = daemon_env(home)
    daemon = Daemon(home, env).start()
    try:
        stored = daemon.client().post(
            "/api/memories", json={"content": "backups are tested restores", "category": "facts"}
        )
        assert stored.status_code == 201
        target = tmp_path / "b.db"
        assert memory(env, "--json", "backup", str(target)).returncode == 0
    finally:
        daemon.stop()
    restored_home = short_tmpdir()
    (restored_home / "memory").mkdir(mode=0o700)
    (restored_home / "memory" / "memory.db").write_bytes(target.read_bytes())
    (restored_home / "keys").mkdir(mode=0o700)
    key = (home / "keys" / "memory.key").read_bytes()
    (restored_home / "keys" / "memory.key").write_bytes(key)
    restored = Daemon(restored_home, daemon_env(restored_home)).start()
    try:
        got = restored.client().get(f"/api/memories/{stored.json()['id']}")
        assert got.status_code == 200 and got.json()["content"] == "backups are tested restores"
    finally:
        restored.stop()


def test_backup_refuses_what_is_not_a_database() -> None:
    home = short_tmpdir()
    env = daemon_env(home)
    done = memory(env, "backup", str(home / "x.db"))
    assert done.returncode == 1 and "there is no database at" in done.stderr
    (home / "memory").mkdir(mode=0o700)
    (home / "memory" / "memory.db").write_bytes(b"not sqlite at all" * 10)
    done = memory(env, "backup", str(home / "x.db"))
    assert done.returncode == 1 and "is not a SQLite database" in done.stderr
    assert not (home / "x.db").exists()
