"""A full disk (issue 17, defect 9): writes answer 507 `disk_full` and work again once there is
room, with nothing acknowledged lost; the CLI and the MCP tools say the disk is full; `memory
doctor` says "disk full" instead of calling a healthy database damaged; start-up fails with one
line and leaves nothing half-written. Each runs on a real full filesystem where the machine
allows a mount, and always on RLIMIT_FSIZE too (tests/disk.py)."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from memoryd.store.transfer import IMPORT_BATCH
from tests.disk import FillableDisk, fillable_disk
from tests.shim.helpers import shim
from tests.support import Daemon, daemon_env, short_tmpdir, wait_until

MEMORY = [sys.executable, "-m", "memoryd.cli.memory_cmd"]
SERVE = [sys.executable, "-m", "memoryd", "serve"]
IMPORTED = 4000  # ~4 MiB of database and 4 MiB of WAL: fits the 16 MiB disk of tests/disk.py


@pytest.fixture(params=["mounted", "rlimit"])
def disk(request: pytest.FixtureRequest) -> Iterator[FillableDisk]:
    with fillable_disk(prefer_mount=request.param == "mounted") as made:
        yield made


def _home(disk: FillableDisk) -> tuple[Path, dict[str, str]]:
    home = disk.root / "h"
    return home, daemon_env(home, MEMORY_SOCKET=str(short_tmpdir() / "d.sock"))


def _files(home: Path) -> dict[str, str]:
    """Every file under `home` and its digest; the daemon's lock file (it holds a pid) aside."""
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file() and p.suffix != ".lock"
    }


def _populated(disk: FillableDisk) -> tuple[Path, dict[str, str]]:
    """A home with a key and a database of one memory, its daemon stopped."""
    home, env = _home(disk)
    daemon = Daemon(home, env).start()
    try:
        stored = daemon.client().post("/api/memories", json={"content": "tabs, not spaces"})
        assert stored.status_code == 201
    finally:
        assert daemon.stop() == 0
    return home, env


async def test_writes_answer_507_and_work_again_once_there_is_room(disk: FillableDisk) -> None:
    home, env = _home(disk)
    daemon = Daemon(home, env).start()
    try:
        client = daemon.client()
        first = client.post("/api/memories", json={"content": "The staging cluster is eu-west-1"})
        assert first.status_code == 201
        assert daemon.proc is not None
        disk.fill(daemon.proc.pid)

        refused = client.post("/api/memories", json={"content": "Deploys happen on Tuesdays"})
        assert refused.status_code == 507, refused.text
        error = refused.json()["error"]
        assert error["code"] == "disk_full" and "is full: nothing was stored" in error["message"]
        edit = client.put(f"/api/memories/{first.json()['id']}", json={"tags": ["infra"]})
        assert edit.status_code == 507 and edit.json()["error"]["code"] == "disk_full"

        cli = disk.run([*MEMORY, "remember", "Deploys happen on Tuesdays"], env)
        assert cli.returncode == 1 and "is full" in cli.stderr and "Traceback" not in cli.stderr
        elsewhere = short_tmpdir()  # the shim's own files live off the full disk
        async with shim(elsewhere, MEMORY_SOCKET=env["MEMORY_SOCKET"]) as mcp:
            tool = await mcp.call_tool(
                "memory_store",
                {"content": "Deploys happen on Tuesdays", "expanded_keywords": "deploy schedule"},
            )
        shutil.rmtree(elsewhere, ignore_errors=True)
        assert tool.is_error
        text = tool.content[0].text  # type: ignore[union-attr]
        assert "is full" in text and "disk_full" in text, text

        listed = client.get("/api/memories")  # reads go on
        assert listed.status_code == 200 and listed.json()["total"] == 1

        disk.free()
        again = client.post("/api/memories", json={"content": "Deploys happen on Tuesdays"})
        assert again.status_code == 201, again.text
        assert client.get("/api/memories").json()["total"] == 2
    finally:
        daemon.stop()


def test_doctor_says_disk_full_not_damaged(disk: FillableDisk) -> None:
    _, env = _populated(disk)
    disk.fill()
    done = disk.run([*MEMORY, "doctor"], env)
    assert done.returncode == 1, done.stdout
    assert "[FAIL] disk      disk full" in done.stdout, done.stdout
    assert "damaged" not in done.stdout and "move the file aside" not in done.stdout
    disk.free()
    healthy = disk.run([*MEMORY, "doctor"], env)
    assert "integrity ok, 1 memories" in healthy.stdout, healthy.stdout


def test_first_start_on_a_full_disk_is_one_line_and_leaves_nothing(disk: FillableDisk) -> None:
    home, env = _home(disk)
    disk.fill()
    done = disk.run(SERVE, env)
    assert done.returncode == 2, done.stderr
    assert "disk is full" in done.stderr and done.stderr.strip().count("\n") == 0, done.stderr
    assert _files(home) == {}  # no keys/memory.tmp, no empty key, no empty database


def test_start_on_a_full_disk_is_one_line_and_leaves_the_files_as_they_were(
    disk: FillableDisk,
) -> None:
    home, env = _populated(disk)
    before = _files(home)
    disk.fill()
    done = disk.run(SERVE, env)
    assert done.returncode == 2, done.stderr
    assert "is full" in done.stderr and done.stderr.strip().count("\n") == 0, done.stderr
    assert "damaged" not in done.stderr and "cannot be opened" not in done.stderr
    assert _files(home) == before


def test_an_import_cut_by_a_full_disk_says_what_it_stored_and_completes_later(
    disk: FillableDisk,
) -> None:
    """An import writes batch by batch (defect 11): a full disk half-way leaves whole batches,
    the 507 says how many items were stored, and sending it again completes it."""
    items = [
        {"content": f"runbook step {n}: restart the queue worker on b{n}"} for n in range(IMPORTED)
    ]
    home, env = _home(disk)
    daemon = Daemon(home, env).start()
    try:
        client = daemon.client(timeout=300)
        answer: list[httpx.Response] = []
        importer = threading.Thread(
            target=lambda: answer.append(client.post("/api/memories/import", json=items))
        )
        importer.start()
        wait_until(lambda: _live_count(daemon.db) > 0, 120, "the import's first batch")
        assert daemon.proc is not None
        disk.fill(daemon.proc.pid)
        importer.join()
        [cut] = answer
        assert cut.status_code == 507, cut.text
        stored = _live_count(daemon.db)
        assert 0 < stored < len(items) and stored % IMPORT_BATCH == 0
        told = f"the first {stored} of the import's {IMPORTED} items were stored"
        assert told in cut.text, cut.text

        disk.free()
        resent = client.post("/api/memories/import", json=items)
        assert resent.status_code == 200, resent.text
        again = resent.json()
        assert (again["imported"], again["duplicates"]) == (len(items) - stored, stored)
        assert _live_count(daemon.db) == len(items)
    finally:
        daemon.stop()


def _live_count(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        (count,) = conn.execute("SELECT count(*) FROM memories WHERE deleted_ms IS NULL").fetchone()
    return int(count)
