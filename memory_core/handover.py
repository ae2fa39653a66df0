"""Version handover: a newer client asks an older daemon to make way. Stdlib-only.

The shim's autostart (and hooks, which may import this module: it needs nothing outside the
standard library) compare the daemon's /health with their own version. When the daemon is
older they POST /api/admin/handover; the daemon stops accepting connections, finishes the
requests in flight, closes the database, releases `<db>.lock` and exits 0. `hand_over_if_older`
returns only once that process is gone, so the caller's next start (or systemd's socket
activation) gives the newer daemon, and two writers never exist: the lock is released by the
old process's exit, before which no new daemon can take it.

Only a strictly newer requester is obeyed (the daemon checks too), so two installed versions
can never make each other restart in turn.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from memory_core.unix_http import UnixHTTPConnection

HANDOVER_PATH = "/api/admin/handover"
EXIT_TIMEOUT = 25.0  # the daemon's graceful shutdown is capped at 15 s, plus closing the store


def version_key(version: str) -> tuple[int, ...]:
    """`1.2.10` → (1, 2, 10); pre-release and local suffixes sort below the release."""
    release = re.match(r"\d+(?:\.\d+)*", version.strip())
    if release is None:
        return (0,)
    parts = [int(p) for p in release.group(0).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    suffix = version.strip()[release.end() :].lstrip(".-_").lower()
    # (..., 1) for a final release, (..., 0) for 1.2.0rc1 and the like, (..., 2) for a .post.
    rank = 1 if not suffix or suffix.startswith("+") else 2 if suffix.startswith("post") else 0
    return (*parts, rank)


def is_newer(version: str, protocol: int, than_version: str, than_protocol: int) -> bool:
    """Whether (version, protocol) should replace (than_version, than_protocol)."""
    if protocol != than_protocol:
        return protocol > than_protocol
    return version_key(version) > version_key(than_version)


def daemon_is_older(health: dict[str, Any], version: str, protocol: int) -> bool:
    """Whether the daemon that answered `health` is older than (version, protocol)."""
    try:
        theirs = str(health["version"])
        their_protocol = int(health.get("protocol", 0))
    except (KeyError, TypeError, ValueError):
        return True  # a daemon too old to say what it is
    return is_newer(version, protocol, theirs, their_protocol)


class HandoverFailed(Exception):
    """The old daemon refused or did not exit in time; the message says what to do."""


def _post(socket_path: Path, body: dict[str, Any], timeout: float) -> tuple[int, dict[str, Any]]:
    conn = UnixHTTPConnection(socket_path, timeout)
    try:
        conn.request(
            "POST",
            HANDOVER_PATH,
            body=json.dumps(body),
            headers={"content-type": "application/json"},
        )
        response = conn.getresponse()
        payload = json.loads(response.read() or b"{}")
        return response.status, payload if isinstance(payload, dict) else {}
    finally:
        conn.close()


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # A zombie (exited, not yet reaped by its parent) holds no lock and no socket any more.
    # Only a whole one: a thread-group leader shows "Z" while its other threads still run.
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return (
        fields.get("State", "").strip().startswith("Z") and fields.get("Threads", "").strip() == "1"
    )


def wait_gone(pid: int, timeout: float = EXIT_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_gone(pid):
            return True
        time.sleep(0.02)
    return process_gone(pid)


def request_handover(
    socket_path: Path,
    version: str,
    protocol: int,
    *,
    timeout: float = EXIT_TIMEOUT,
) -> int:
    """Ask the daemon on `socket_path` to hand over and wait until it has exited.

    Returns the old daemon's pid. Raises HandoverFailed when it refuses or outlives `timeout`.
    """
    try:
        status, answer = _post(socket_path, {"version": version, "protocol": protocol}, 5.0)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise HandoverFailed(f"could not ask memoryd on {socket_path} to hand over: {exc}") from exc
    if status != 202:
        message = answer.get("error", {}).get("message", f"HTTP {status}")
        raise HandoverFailed(f"memoryd on {socket_path} refused to hand over: {message}")
    pid = int(answer["pid"])
    if not wait_gone(pid, timeout):
        raise HandoverFailed(
            f"memoryd (pid {pid}) accepted the handover but is still running after "
            f"{timeout:.0f} s; check its log, or stop it with `kill {pid}`"
        )
    return pid


def hand_over_if_older(
    socket_path: Path,
    health: dict[str, Any],
    version: str,
    protocol: int,
    *,
    timeout: float = EXIT_TIMEOUT,
) -> bool:
    """If the daemon that answered `health` is older than us, make it exit; True if it did.

    The caller then starts (or lets systemd start) the daemon of its own version.
    """
    if not daemon_is_older(health, version, protocol):
        return False
    request_handover(socket_path, version, protocol, timeout=timeout)
    return True
