"""`memory doctor` on each broken state, and the daemon refusing a broken database untouched."""

from __future__ import annotations

import hashlib
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import Daemon, daemon_env, damage_schema_page, serve_refuses, short_tmpdir

MEMORY = "from memoryd.cli.memory_cmd import main; raise SystemExit(main())"


@pytest.fixture(scope="module")
def populated() -> Path:
    """A MEMORY_HOME with three memories (one sensitive), written by a real daemon."""
    home = short_tmpdir()
    daemon = Daemon(home, daemon_env(home)).start()
    try:
        client = daemon.client()
        for text, sensitive in (
            ("The staging cluster is in eu-west-1", False),
            ("I prefer Svelte for new frontends", False),
            ("the deploy token is hunter2-hunter2", True),
        ):
            body = {"content": text, "category": "facts", "force_sensitive": sensitive}
            assert client.post("/api/memories", json=body).status_code == 201
    finally:
        assert daemon.stop() == 0
    conn = sqlite3.connect(home / "memory" / "memory.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return home


def copy_home(populated: Path) -> tuple[Path, dict[str, str]]:
    home = short_tmpdir() / "h"
    shutil.copytree(populated, home, symlinks=True)
    return home, daemon_env(home)


def doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", MEMORY, "doctor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_healthy_installation_is_all_good(populated: Path) -> None:
    _, env = copy_home(populated)
    done = doctor(env)
    assert done.returncode == 0, done.stdout
    assert "integrity ok, 3 memories" in done.stdout
    assert "full-text index matches" in done.stdout
    assert "[WARN] daemon    memoryd is not running" in done.stdout
    assert done.stdout.rstrip().endswith("All good.")


def test_running_daemon_is_reported(populated: Path) -> None:
    home, env = copy_home(populated)
    daemon = Daemon(home, env).start()
    try:
        done = doctor(env)
    finally:
        daemon.stop()
    assert done.returncode == 0, done.stdout
    assert f"[ok  ] daemon    memoryd 0.1.0 (pid {daemon.proc.pid if daemon.proc else 0})" in (
        done.stdout
    )


def _not_sqlite(db: Path) -> None:
    db.write_bytes(b"these are not the bytes you are looking for\n" * 100)


def _damaged_pages(db: Path) -> None:
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    assert len(data) >= 4 * page
    data[page : 4 * page] = bytes((i * 37 + 11) % 251 for i in range(3 * page))
    db.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "doctor_says", "serve_says"),
    [
        (_not_sqlite, "is not a SQLite database", "is not a SQLite database; refusing"),
        (_damaged_pages, "is damaged:", "cannot be opened"),
        (damage_schema_page, "is damaged:", "cannot be opened"),  # serve used to hang on it
    ],
)
def test_broken_database_is_reported_and_never_touched(
    populated: Path, damage: Callable[[Path], None], doctor_says: str, serve_says: str
) -> None:
    home, env = copy_home(populated)
    db = home / "memory" / "memory.db"
    damage(db)
    before = sha(db)
    done = doctor(env)
    assert done.returncode == 1
    assert doctor_says in done.stdout
    assert f"fix: stop memoryd, move the file aside (mv {db} {db}.broken)" in done.stdout
    serve_refuses(env, serve_says)
    assert sha(db) == before  # neither doctor nor the daemon wrote to it


def test_database_that_is_a_directory(populated: Path) -> None:
    home, env = copy_home(populated)
    db = home / "memory" / "memory.db"
    db.unlink()
    db.mkdir()
    done = doctor(env)
    assert done.returncode == 1 and "is not a regular file" in done.stdout
    serve_refuses(env, "is not a regular file; refusing to touch it")


def test_damaged_full_text_index_is_found_and_rebuilt(populated: Path) -> None:
    home, env = copy_home(populated)
    conn = sqlite3.connect(home / "memory" / "memory.db")
    conn.execute(
        "INSERT INTO memories_fts(rowid, content, expanded_keywords, tags) "
        "VALUES (424242, 'ghost row', '', '')"
    )
    conn.commit()
    conn.close()
    done = doctor(env)
    assert done.returncode == 1
    assert "the full-text index does not match the memories" in done.stdout
    assert "fix: `memory doctor --rebuild-fts`" in done.stdout
    fixed = doctor(env, "--rebuild-fts")
    assert fixed.returncode == 0 and "has been rebuilt" in fixed.stdout
    assert doctor(env).returncode == 0


def test_a_damaged_full_text_index_page_is_found_by_the_one_check(populated: Path) -> None:
    # The doctor runs only FTS5's integrity-check with rank = 1: it checks the index's own
    # structure (what the plain check, dropped for its cost at scale, was there for) as well
    # as its agreement with the memories.
    home, env = copy_home(populated)
    conn = sqlite3.connect(home / "memory" / "memory.db", isolation_level=None)
    conn.execute(
        "UPDATE memories_fts_data SET block = zeroblob(length(block)) "
        "WHERE id = (SELECT max(id) FROM memories_fts_data)"
    )
    conn.close()
    done = doctor(env)
    assert done.returncode == 1
    assert "the full-text index does not match the memories" in done.stdout


@pytest.mark.slow
def test_key_file_problems(populated: Path) -> None:
    home, env = copy_home(populated)
    key = home / "keys" / "memory.key"
    key.chmod(0o644)
    done = doctor(env)
    assert done.returncode == 1 and f"fix: chmod 600 {key}" in done.stdout

    key.write_text("not a key\n")
    key.chmod(0o600)
    done = doctor(env)
    assert done.returncode == 1 and "is damaged (expected 64 hex digits)" in done.stdout
    serve_refuses(env, "is damaged: expected 64 hex digits")

    key.unlink()
    done = doctor(env)
    assert done.returncode == 1
    assert "is missing but 1 encrypted memories need it" in done.stdout
    serve_refuses(env, "refusing to create a new key")
    assert not key.exists()


def test_permissions_and_stale_socket(populated: Path) -> None:
    home, env = copy_home(populated)
    db = home / "memory" / "memory.db"
    db.chmod(0o644)
    sock_path = Path(env["MEMORY_SOCKET"])
    sock_path.parent.mkdir(exist_ok=True)
    sock_path.parent.chmod(0o755)
    with socket.socket(socket.AF_UNIX) as stale:
        stale.bind(str(sock_path))  # bound, never listening: what a crashed daemon leaves
    sock_path.chmod(0o600)
    done = doctor(env)
    assert done.returncode == 1
    assert f"fix: chmod 600 {db}" in done.stdout
    assert f"fix: chmod 700 {sock_path.parent}" in done.stdout
    assert "exists but no memoryd answers on it" in done.stdout


def test_doctor_json(populated: Path) -> None:
    import json

    _, env = copy_home(populated)
    done = subprocess.run(
        [sys.executable, "-c", MEMORY, "--json", "doctor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    checks = json.loads(done.stdout)
    assert {c["area"] for c in checks} >= {"install", "daemon", "database", "fts", "key"}
    assert all(c["status"] in ("ok", "warn", "fail") for c in checks)


def test_service_pointing_at_a_vanished_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from memory_core.config import Settings
    from memoryd.doctor import _service_python, check_installation
    from memoryd.service.units import EXAMPLE_SPEC, launchd_plist_bytes, systemd_service_unit

    gone = dataclasses.replace(EXAMPLE_SPEC, python=str(tmp_path / "old venv" / "bin" / "python"))
    units = tmp_path / "config" / "systemd" / "user"
    units.mkdir(parents=True)
    (units / "memoryd.service").write_text(systemd_service_unit(gone))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    [_, service] = check_installation(Settings(), home=tmp_path)
    assert service.status == "fail" and f"runs {gone.python}, which no longer" in service.detail
    plist = tmp_path / "agent.plist"
    plist.write_bytes(launchd_plist_bytes(gone))
    assert _service_python(plist) == gone.python

    here = dataclasses.replace(EXAMPLE_SPEC, python=sys.executable)
    (units / "memoryd.service").write_text(systemd_service_unit(here))
    [_, service] = check_installation(Settings(), home=tmp_path)
    assert service.status == "ok"


def test_a_valid_key_that_did_not_seal_the_data(populated: Path) -> None:
    home, env = copy_home(populated)
    key = home / "keys" / "memory.key"
    key.write_text(secrets.token_hex(32) + "\n")  # valid, 0600, and not the sealing key
    done = doctor(env)
    assert done.returncode == 1
    assert f"{key} is a valid key, but not the one the encrypted memories were sealed with" in (
        done.stdout
    )
    assert "secret_get answers wrong_key" in done.stdout
    other = {**env, "MEMORY_ENCRYPTION_KEY": "a passphrase that sealed nothing"}
    done = doctor(other)
    assert done.returncode == 1
    assert "MEMORY_ENCRYPTION_KEY is a valid key, but not the one" in done.stdout

    daemon = Daemon(home, env).start()
    try:
        client = daemon.client()
        listed = client.get("/api/memories").json()["memories"]
        sealed = next(m["id"] for m in listed if m["is_sensitive"])
        answer = client.post(f"/api/memories/{sealed}/secret")
        assert answer.status_code == 409
        error = answer.json()["error"]
        assert error["code"] == "wrong_key" and "memory doctor" in error["message"]
        assert client.post("/api/memories/recall", json={"context": "staging"}).status_code == 200
    finally:
        assert daemon.stop() == 0
