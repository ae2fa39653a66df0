"""Version handover: an older daemon makes way for a newer one, losing no acknowledged write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from memory_core.handover import (
    HandoverFailed,
    daemon_is_older,
    hand_over_if_older,
    is_newer,
    request_handover,
    version_key,
)
from memory_core.unix_http import probe_health
from memory_core.version import PROTOCOL, __version__
from tests.service.storm import Storm, fts_integrity, stored_ids
from tests.support import Daemon, daemon_env, short_tmpdir, wait_for_socket

OLD = "0.0.9"
# Start `memoryd serve` claiming another version, as an older installation would.
PRETEND = (
    "import sys, memory_core.version as v; v.__version__ = sys.argv[1]; "
    "from memoryd.cli.daemon_cmd import main; raise SystemExit(main(['serve']))"
)


@dataclass
class Older:
    """A daemon of version OLD, serving its own MEMORY_HOME."""

    home: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes]

    @property
    def socket(self) -> Path:
        return Path(self.env["MEMORY_SOCKET"])


@pytest.fixture
def older() -> Iterator[Older]:
    """Started and ready; killed afterwards if it has not made way."""
    home = short_tmpdir()
    env = daemon_env(home)
    proc = subprocess.Popen(
        [sys.executable, "-c", PRETEND, OLD],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    old = Older(home, env, proc)
    try:
        wait_for_socket(old.socket, proc)
        deadline = time.monotonic() + 20
        while probe_health(old.socket) is None:  # connectable before it is ready
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        yield old
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_version_order() -> None:
    assert version_key("0.1.0") == version_key("0.1")
    assert version_key("0.1.0rc1") < version_key("0.1.0") < version_key("0.1.0.post1")
    assert version_key("0.1.10") > version_key("0.1.9")
    assert is_newer("0.2.0", 1, "0.1.0", 1) and not is_newer("0.1.0", 1, "0.1.0", 1)
    assert is_newer("0.0.1", 2, "9.0.0", 1)  # the protocol decides first
    assert daemon_is_older({"version": OLD, "protocol": PROTOCOL}, __version__, PROTOCOL)
    assert not daemon_is_older({"version": __version__, "protocol": PROTOCOL}, OLD, PROTOCOL)


@pytest.mark.slow
def test_older_daemon_hands_over_without_losing_a_write(older: Older) -> None:
    storm = Storm(older.socket, clients=8, retry=True).start()
    new = Daemon(older.home, older.env)
    try:
        storm.wait_for(50)
        health = probe_health(older.socket)
        assert health is not None and health["version"] == OLD
        assert hand_over_if_older(older.socket, health, __version__, PROTOCOL)
        # It has exited by now, cleanly, after closing the store and removing its socket.
        assert older.proc.wait(5) == 0
        before = storm.count()
        new.start()
        assert new.client().get("/health").json()["version"] == __version__
        storm.wait_for(before + 50)
    finally:
        storm.stop()
        new.stop()
    assert older.proc.stdout is not None
    log = older.proc.stdout.read().decode()
    assert f"handover to memoryd {__version__}" in log
    stored = stored_ids(new.db)
    missing = [i for i, c in storm.acked.items() if stored.get(i) != c]
    assert not missing, f"{len(missing)} acknowledged writes lost"
    fts_integrity(new.db)


def test_daemon_refuses_to_hand_over_to_an_older_or_equal_version() -> None:
    home = short_tmpdir()
    daemon = Daemon(home, daemon_env(home)).start()
    try:
        health = probe_health(daemon.socket, timeout=20)
        assert health is not None
        assert not hand_over_if_older(daemon.socket, health, OLD, PROTOCOL)
        with pytest.raises(HandoverFailed, match="only hands over to a newer one"):
            request_handover(daemon.socket, __version__, PROTOCOL, timeout=2)
        client = daemon.client()
        bad = client.post("/api/admin/handover", content=b"{nope")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
        assert client.get("/health").json()["pid"] == health["pid"]  # still the same daemon
    finally:
        assert daemon.stop() == 0


def test_handover_to_nothing_says_so() -> None:
    with pytest.raises(HandoverFailed, match="could not ask memoryd"):
        request_handover(short_tmpdir() / "none.sock", "9.9.9", PROTOCOL, timeout=1)


@pytest.mark.slow
def test_shim_autostart_replaces_an_older_daemon(older: Older) -> None:
    from mcp_shim.autostart import ensure_daemon
    from memory_core.handover import wait_gone

    old = older.proc
    health = ensure_daemon(older.socket, older.home, env=older.env, timeout=20)
    assert health["version"] == __version__ and health["pid"] != old.pid, (health, old.pid)
    assert old.wait(5) == 0
    new_pid = int(health["pid"])
    os.kill(new_pid, signal.SIGTERM)  # the daemon ensure_daemon spawned for this test
    assert wait_gone(new_pid, 20)
