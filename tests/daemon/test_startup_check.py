"""`memoryd serve` reads the whole database once to check it before serving, not twice:
`PRAGMA quick_check` costs 0.8 s of CPU and 2-3 s of disk at a million memories
(bench/scale_bench.py), and the lifespan's open repeated the check the command had just made."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from memory_core.clock import SystemClock
from memory_core.config import load_settings
from memoryd.api.app import local_components
from memoryd.cli import daemon_cmd
from memoryd.store.db import Database

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
