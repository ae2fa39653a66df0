"""`memoryd serve` reads the whole database once to check it before serving, not twice:
`PRAGMA quick_check` costs 0.8 s of CPU and 2-3 s of disk at a million memories
(bench/scale_bench.py), and the lifespan's open repeated the check the command had just made."""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from memory_core.clock import SystemClock
from memory_core.config import load_settings
from memoryd.api.app import local_components
from memoryd.cli import daemon_cmd
from memoryd.store.db import Database
from tests.support import Daemon, daemon_env, serve_refuses, short_tmpdir, store, wait_until

KEY = "5e" * 32


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Path]:
    """The settings point at a fresh home; returns the files `quick_check` ran on."""
    home = tmp_path / "home"
    monkeypatch.setenv("MEMORY_HOME", str(home))
    monkeypatch.setenv("MEMORY_SOCKET", str(home / "run" / "d.sock"))
    monkeypatch.setenv("MEMORY_ENCRYPTION_KEY", KEY)
    monkeypatch.setenv("MEMORY_SEMANTIC", "0")
    ran: list[Path] = []
    check = Database._check_integrity

    async def counted(self: Database, conn: Any) -> None:
        ran.append(self.path)
        await check(self, conn)

    monkeypatch.setattr(Database, "_check_integrity", counted)
    return ran


async def test_the_lifespan_skips_the_check_the_command_made(checks: list[Path]) -> None:
    settings = load_settings()
    async with local_components(settings, SystemClock()) as found:
        assert await found.store.count() == 0
    assert checks == [settings.db_path]  # a lifespan on its own (tests, tools) still checks
    async with local_components(settings, SystemClock(), integrity_checked=True):
        pass
    assert checks == [settings.db_path]


def test_serve_checks_the_database_once_then_serves_it_unchecked(
    checks: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[dict[str, Any]] = []

    def serve(settings: Any, **options: Any) -> int:  # in place of the blocking server
        served.append(options)
        return 0

    monkeypatch.setattr("memoryd.daemon.serve", serve)
    args = argparse.Namespace(verbose=False, idle_exit=None)
    assert daemon_cmd._serve(args) == 0
    assert checks == [load_settings().db_path]
    assert served == [{"idle_exit": None, "integrity_checked": True}]


def _damage_an_index_nothing_reads(db: Path) -> None:
    """Garbage over the root page of `memory_links_src` (no memory has links): the file opens,
    migrates and serves reads and plain stores, and `PRAGMA quick_check` finds the damage."""
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'memory_links_src'"
        ).fetchone()
        (page,) = conn.execute("PRAGMA page_size").fetchone()
    data = bytearray(db.read_bytes())
    data[(root - 1) * page : root * page] = bytes((i * 37 + 11) % 251 for i in range(page))
    db.write_bytes(bytes(data))


def test_a_large_file_is_served_at_once_and_checked_then() -> None:
    """Past MEMORY_CHECK_LATER_BYTES (lowered here to 0: every file is large) the check runs
    once the daemon serves; a damaged file is then read but never written, and says so."""
    home = short_tmpdir()
    env = daemon_env(home, MEMORY_ENCRYPTION_KEY=KEY, MEMORY_SEMANTIC="0")
    daemon = Daemon(home, env).start()
    try:
        client = daemon.client()
        kept = store(client, "the ledger service deploys from the release branch")
        assert "integrity" not in client.get("/health").json()  # a small file: checked first
    finally:
        daemon.stop()
    _damage_an_index_nothing_reads(daemon.db)
    serve_refuses(env, "cannot be opened")  # as before for a file under the threshold

    later = Daemon(home, {**env, "MEMORY_CHECK_LATER_BYTES": "0"}).start()
    try:
        client = later.client()
        wait_until(
            lambda: client.get("/health").json().get("integrity", "").startswith("failed: "),
            30,
            "the later check to find the damage",
        )
        refused = client.post("/api/memories", json={"content": "a new lesson about ledger"})
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "store_damaged"
        assert "memory doctor" in refused.json()["error"]["message"]
        found = client.post("/api/memories/recall", json={"context": "ledger release branch"})
        assert [m["id"] for m in found.json()["memories"]] == [kept]
        status = subprocess.run(
            [str(Path(sys.executable).parent / "memory"), "status"],
            env=later.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "integrity failed: " in status.stdout, status.stdout
    finally:
        later.stop()
