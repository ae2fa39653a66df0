"""Make sure memoryd answers on its socket, starting it if needed. Stdlib-only.

`ensure_daemon` is what every client that may be first on the machine calls (the MCP shim on
start and whenever a request finds no daemon; hooks may reuse it). Many callers at once still
produce one daemon: they serialise on an flock in MEMORY_HOME, and each re-probes the socket
once it holds the lock, so only the first one spawns. memoryd itself also holds an exclusive
lock on `<db>.lock` and exits 0 when another daemon already answers (memoryd/daemon.py), which
covers callers that do not use this module.

The spawned daemon runs detached (its own session, stdin from /dev/null, output appended to
MEMORY_HOME/logs/memoryd.log), so it outlives the session that started it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import http.client
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from memory_core.errors import UnsafeDirectory
from memory_core.private_files import private_dir, private_opener, write_private_file
from memory_core.unix_http import UnixHTTPConnection

log = logging.getLogger("mcp_shim.autostart")

START_TIMEOUT = 3.0
PROBE_TIMEOUT = 0.5
LOG_NAME = "memoryd.log"
LOCK_NAME = "autostart.lock"
SPAWN_NAME = "autostart.spawn"
# A daemon spawned this recently and still alive is still starting: wait for it, don't spawn.
STARTING_GRACE = 15.0


class DaemonUnavailable(Exception):
    """memoryd does not answer and could not be started; the message says what to run."""


def probe(socket_path: Path, timeout: float = PROBE_TIMEOUT) -> dict[str, Any] | None:
    """memoryd's /health answer, or None when nothing healthy answers on `socket_path`."""
    conn = UnixHTTPConnection(socket_path, timeout)
    try:
        conn.request("GET", "/health")
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            return None
        health = json.loads(body)
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()
    return health if isinstance(health, dict) and health.get("status") == "ok" else None


def log_path(home: Path) -> Path:
    return home / "logs" / LOG_NAME


def _private_dir(path: Path, purpose: str) -> None:
    try:
        private_dir(path, purpose)
    except UnsafeDirectory as exc:
        raise DaemonUnavailable(f"memoryd was not started: {exc.message}") from None


@contextlib.contextmanager
def _start_lock(home: Path, deadline: float) -> Iterator[bool]:
    """Hold the autostart flock until the block ends; yields False if it was not had in time."""
    _private_dir(home, "memoryd's files (MEMORY_HOME)")
    fd = private_opener(home / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
            if time.monotonic() >= deadline:
                yield False
                return
            time.sleep(0.02)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def spawn_daemon(home: Path, python: str, env: Mapping[str, str] | None) -> subprocess.Popen[bytes]:
    """Start `<python> -m memoryd serve` detached, its output appended to the log."""
    logs = home / "logs"
    _private_dir(logs, "memoryd's log")
    out = private_opener(logs / LOG_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        proc = subprocess.Popen(
            [python, "-m", "memoryd", "serve"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            cwd=str(home),
            env=dict(env) if env is not None else None,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(out)
    # Reap it whenever it exits, so a daemon that stops while we live leaves no zombie.
    threading.Thread(target=proc.wait, name="memoryd-reaper", daemon=True).start()
    return proc


def _record_spawn(home: Path, pid: int) -> None:
    with contextlib.suppress(OSError):
        write_private_file(home / SPAWN_NAME, f"{pid} {time.time():.3f}\n".encode())


def _clear_spawn(home: Path) -> None:
    """A daemon answers: nothing is starting any more, so a later death of the one recorded
    must not make the next caller wait for it instead of starting another."""
    with contextlib.suppress(OSError):
        (home / SPAWN_NAME).unlink()


def _alive(pid: int) -> bool:
    """True while `pid` runs. A killed daemon stays a zombie until its parent (another shim,
    which may be busy or stopped) reaps it, and os.kill(pid, 0) still succeeds on a zombie."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        # Reaped since the kill, unless there is no /proc at all (macOS): then trust the kill.
        return not Path("/proc/self/stat").exists()
    except OSError:
        return True
    fields = stat.rpartition(")")[2].split()
    return not fields or fields[0] not in ("Z", "X")


def _starting_pid(home: Path) -> int | None:
    """The pid of a daemon a previous caller spawned moments ago, that has not answered yet
    (see `_clear_spawn`) and is still alive."""
    try:
        pid_text, when_text = (home / SPAWN_NAME).read_text().split()
        pid, when = int(pid_text), float(when_text)
    except (OSError, ValueError):
        return None
    if time.time() - when > STARTING_GRACE:
        return None
    return pid if _alive(pid) else None


def _log_size(home: Path) -> int:
    try:
        return log_path(home).stat().st_size
    except OSError:
        return 0


REFUSAL_PREFIX = "memoryd: "  # how memoryd starts the one line it prints when it refuses


def _what_it_said(home: Path, since: int, lines: int = 3) -> tuple[str, bool]:
    """What the daemon spawned when the log was `since` bytes long wrote there, and whether
    that is a refusal: its refusal line if it printed one, else its last lines. Never the
    lines of earlier daemons, which would bury the reason."""
    with contextlib.suppress(OSError), log_path(home).open("rb") as log_file:
        log_file.seek(since)
        written = log_file.read(64 * 1024).decode(errors="replace").splitlines()
        said = [line.strip() for line in written if line.strip()]
        refusals = [line for line in said if line.startswith(REFUSAL_PREFIX)]
        if refusals:
            return refusals[-1].removeprefix(REFUSAL_PREFIX).rstrip("."), True
        return " | ".join(said[-lines:]), False
    return "", False


def how_to_start(socket_path: Path, home: Path) -> str:
    return (
        f"Start it with `memoryd serve` (same MEMORY_HOME={home}, socket {socket_path}) and "
        f"check {log_path(home)}."
    )


def _handed_over(socket_path: Path, health: dict[str, Any]) -> bool:
    """True when `health` came from a memoryd older than ours that has now exited for us
    (memory_core/handover.py, stdlib-only too); the caller then starts the new one."""
    from memory_core.handover import HandoverFailed, hand_over_if_older
    from memory_core.version import PROTOCOL, __version__

    try:
        return hand_over_if_older(socket_path, health, __version__, PROTOCOL)
    except HandoverFailed as exc:
        log.warning("%s", exc)
        return False


def _spawn(
    socket_path: Path, home: Path, python: str, env: Mapping[str, str] | None
) -> tuple[subprocess.Popen[bytes], int]:
    """The spawned daemon, and where its lines begin in the log."""
    log.info("memoryd not answering on %s; starting it", socket_path)
    since = _log_size(home)
    proc = spawn_daemon(home, python, env)
    _record_spawn(home, proc.pid)
    return proc, since


def ensure_daemon(
    socket_path: Path,
    home: Path,
    *,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
    timeout: float = START_TIMEOUT,
) -> dict[str, Any]:
    """Return memoryd's /health, starting the daemon first if nothing answers.

    Waits at most about `timeout` seconds in all (lock included). Raises DaemonUnavailable
    with a message that says what to run when the daemon cannot be reached.
    """
    health = probe(socket_path)
    if health is not None and not _handed_over(socket_path, health):
        return health
    deadline = time.monotonic() + timeout
    with _start_lock(home, deadline) as locked:
        health = probe(socket_path)
        if health is not None:
            return health
        if not locked:
            raise DaemonUnavailable(
                f"memoryd is not answering on {socket_path} and another client's start attempt "
                f"did not finish in {timeout:.0f} s. {how_to_start(socket_path, home)}"
            )
        proc: subprocess.Popen[bytes] | None = None
        since = 0
        if _starting_pid(home) is None:
            proc, since = _spawn(socket_path, home, python, env)
        while time.monotonic() < deadline:
            health = probe(socket_path, timeout=min(PROBE_TIMEOUT, timeout))
            if health is not None:
                _clear_spawn(home)
                log.info("memoryd started (pid %s)", health.get("pid"))
                return health
            if proc is None and _starting_pid(home) is None:
                # The daemon another caller was starting died (or was reaped) meanwhile.
                proc, since = _spawn(socket_path, home, python, env)
                continue
            code = proc.poll() if proc is not None else None
            if code is not None and code != 0:
                said, _ = _what_it_said(home, since)
                raise DaemonUnavailable(
                    f"memoryd exited with status {code} right after start"
                    + (f": {said}" if said else "")
                    + f". {how_to_start(socket_path, home)}"
                )
            time.sleep(0.03)
    if proc is not None:
        said, refused = _what_it_said(home, since)
        if refused:  # and has not exited (yet): say why, not that it did not answer
            raise DaemonUnavailable(
                f"memoryd refused to start: {said}. {how_to_start(socket_path, home)}"
            )
    raise DaemonUnavailable(
        f"memoryd was started but did not answer on {socket_path} within {timeout:.0f} s. "
        f"{how_to_start(socket_path, home)}"
    )
