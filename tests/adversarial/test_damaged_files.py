"""Damaged files under MEMORY_HOME: a clear refusal, or a recovery, and never silent data loss.

The write-ahead log: after a kill -9 it holds the acknowledged writes not yet copied into the
database. SQLite replays it up to the first damaged frame and drops the rest without a word,
so memoryd (and `memory doctor`) check it before SQLite opens it. The key file: anything but
64 hex digits is a one-line refusal; a valid key that is not the one the data was sealed with
is reported, and the data opens again once the right key is back."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from memoryd.store.wal import wal_path
from tests.adversarial.daemons import LoggedDaemon, start_logged
from tests.service.storm import fts_integrity, stored_ids
from tests.support import daemon_env, serve_refuses, short_tmpdir

DOCTOR = "from memoryd.cli.memory_cmd import main; raise SystemExit(main())"
WRITES = 300  # enough that the log wraps once: it holds frames of two generations


@pytest.fixture(scope="module")
def crashed() -> Iterator[tuple[Path, dict[str, str]]]:
    """A MEMORY_HOME whose daemon acknowledged WRITES memories (one sensitive) and was then
    killed -9: its WAL holds the writes since the last checkpoint."""
    daemon = start_logged()
    client = daemon.client()
    acked: dict[str, str] = {}
    # Enough writes that the log has wrapped once, and that its current generation (a
    # checkpoint restarts it at any time) holds a few dozen frames to damage one early.
    while len(acked) < WRITES or len(_frames(wal_path(daemon.db).read_bytes())) < 30:
        i = len(acked)
        body = {"content": f"crash note {i} about topic{i}", "force_sensitive": i == 7}
        answer = client.post("/api/memories", json=body)
        assert answer.status_code == 201
        acked[answer.json()["id"]] = body["content"]
    daemon.signal(signal.SIGKILL)
    assert daemon.proc is not None
    daemon.proc.wait(10)
    daemon.stop()
    assert wal_path(daemon.db).stat().st_size > 0
    yield daemon.home, acked
    shutil.rmtree(daemon.home, ignore_errors=True)


def _copy(crashed: tuple[Path, dict[str, str]]) -> tuple[LoggedDaemon, dict[str, str]]:
    """A copy of the crashed home, and the daemon (not started) that would serve it."""
    source, acked = crashed
    home = short_tmpdir() / "h"
    shutil.copytree(source, home, symlinks=True, ignore=shutil.ignore_patterns("*.sock"))
    return LoggedDaemon(home, daemon_env(home)), acked


def _frames(wal: bytes) -> list[int]:
    """The offsets of the log's current frames (those with the header's salts)."""
    frame = 24 + int.from_bytes(wal[8:12], "big")
    starts = range(32, len(wal) - frame + 1, frame)
    return [at for at in starts if wal[at + 8 : at + 16] == wal[16:24]]


def _damage_early_frame(wal: bytearray) -> None:
    current = _frames(bytes(wal))
    at = current[2] + 24 + 100  # inside the third frame's page
    wal[at : at + 64] = b"\xaa" * 64


def _damage_header(wal: bytearray) -> None:
    wal[0:4] = b"\x00\x00\x00\x00"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _doctor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", DOCTOR, "doctor"], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    "damage", [_damage_early_frame, _damage_header], ids=["early-frame", "header"]
)
def test_a_damaged_log_is_refused_untouched_and_nothing_is_lost_once_restored(
    crashed: tuple[Path, dict[str, str]], damage: Callable[[bytearray], None]
) -> None:
    daemon, acked = _copy(crashed)
    wal = wal_path(daemon.db)
    intact = wal.read_bytes()
    broken = bytearray(intact)
    damage(broken)
    wal.write_bytes(bytes(broken))
    before = {path: _sha(path) for path in (daemon.db, wal)}

    serve_refuses(daemon.env, "is damaged")
    doctor = _doctor(daemon.env)
    assert doctor.returncode == 1, doctor.stdout
    assert f"the write-ahead log {wal} is damaged" in doctor.stdout
    assert f"mv {wal} {wal}.broken" in doctor.stdout
    assert {path: _sha(path) for path in before} == before  # the evidence is kept

    wal.write_bytes(intact)  # the log restored (from a backup of the home, say)
    daemon.start()
    try:
        assert daemon.client().get("/health").json()["memories"] == len(acked)
    finally:
        assert daemon.stop() == 0
    stored = stored_ids(daemon.db)
    assert set(acked) <= set(stored)
    plain = {i: c for i, c in acked.items() if not c.startswith("crash note 7 ")}
    assert {i: stored[i] for i in plain} == plain
    fts_integrity(daemon.db)


def test_a_torn_last_frame_is_recovered_from(crashed: tuple[Path, dict[str, str]]) -> None:
    """A cut write (a power loss) tears the log's last frame: SQLite drops that transaction
    alone, which is the durability synchronous=NORMAL promises, and memoryd starts."""
    daemon, acked = _copy(crashed)
    wal = wal_path(daemon.db)
    broken = bytearray(wal.read_bytes())
    current = _frames(bytes(broken))
    broken[current[-1] + 24 + 10] ^= 0xFF
    wal.write_bytes(bytes(broken))
    daemon.start()
    try:
        served = daemon.client().get("/health").json()["memories"]
    finally:
        assert daemon.stop() == 0
    assert len(acked) - 1 <= served <= len(acked)
    fts_integrity(daemon.db)


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda key: key.write_bytes(b"\x9f" * 32), "is damaged: expected 64 hex digits"),
        (lambda key: (key.unlink(), key.mkdir()), "cannot be read: Is a directory"),
        (lambda key: key.write_text("0123abcd\n"), "is damaged: expected 64 hex digits"),
        (lambda key: key.write_bytes(b""), "is damaged: expected 64 hex digits"),
    ],
    ids=["binary", "directory", "truncated", "empty"],
)
def test_a_damaged_key_file_is_a_one_line_refusal(
    crashed: tuple[Path, dict[str, str]], damage: Callable[[Path], object], says: str
) -> None:
    daemon, _ = _copy(crashed)
    key = daemon.home / "keys" / "memory.key"
    damage(key)
    serve_refuses(daemon.env, says)


def _with_key(daemon: LoggedDaemon, key_text: str) -> LoggedDaemon:
    key = daemon.home / "keys" / "memory.key"
    key.write_text(key_text)
    key.chmod(0o600)
    return daemon


def test_another_valid_key_is_reported_and_the_right_one_opens_everything_again(
    crashed: tuple[Path, dict[str, str]],
) -> None:
    daemon, acked = _copy(crashed)
    secret_id = next(i for i, c in acked.items() if c.startswith("crash note 7 "))
    right = (daemon.home / "keys" / "memory.key").read_text()
    _with_key(daemon, "ab" * 32 + "\n").start()
    try:
        answer = daemon.client().post(f"/api/memories/{secret_id}/secret")
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "wrong_key"
    finally:
        daemon.stop()
    doctor = _doctor(daemon.env)
    assert doctor.returncode == 1
    assert "not the one the encrypted memories were sealed with" in doctor.stdout
    _with_key(daemon, right).start()
    try:
        answer = daemon.client().post(f"/api/memories/{secret_id}/secret")
        assert answer.status_code == 200 and answer.json()["content"].startswith("crash note 7 ")
    finally:
        daemon.stop()


def test_a_secret_stored_under_the_wrong_key_is_not_lost_when_the_right_one_returns(
    crashed: tuple[Path, dict[str, str]],
) -> None:
    daemon, _ = _copy(crashed)
    right = (daemon.home / "keys" / "memory.key").read_text()
    _with_key(daemon, "ab" * 32 + "\n").start()
    try:
        body = {"content": "the vault unseal phrase is ZebraCanary", "force_sensitive": True}
        stored = daemon.client().post("/api/memories", json=body)
    finally:
        daemon.stop()
    _with_key(daemon, right).start()
    try:
        # Refused while the key fits none of the stored secrets (memoryd/key_fit.py), so
        # nothing was sealed that the user's key could not open.
        assert stored.status_code == 409 and stored.json()["error"]["code"] == "wrong_key"
        listed = daemon.client().get("/api/memories", params={"limit": 100}).json()
        assert all("ZebraCanary" not in json.dumps(item) for item in listed["memories"])
    finally:
        daemon.stop()
