"""The daemon as a process: private files, other uids refused, one daemon per database, stale
sockets, graceful SIGTERM with requests in flight, and concurrent clients."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support import (
    Daemon,
    daemon_env,
    run_module,
    running_daemon,
    short_tmpdir,
    wait_for_socket,
    wait_until,
)

NOBODY = 65534


def foreign_client(sock: Path) -> dict[str, object]:
    """Connect to `sock` from a child process running as uid/gid 65534 and report what
    happened. A fork, not an exec: the interpreter may live where uid 65534 cannot read."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        out: dict[str, object] = {}
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            out["uid"] = os.getuid()
            with socket.socket(socket.AF_UNIX) as conn:
                conn.settimeout(5)
                try:
                    conn.connect(str(sock))
                except OSError as exc:
                    out["connect_error"] = type(exc).__name__
                else:
                    out["connected"] = True
                    try:
                        conn.sendall(b"GET /health HTTP/1.1\r\nHost: memoryd\r\n\r\n")
                        out["reply"] = conn.recv(4096).decode("latin-1")
                    except OSError as exc:
                        out["reply_error"] = type(exc).__name__
        except BaseException as exc:
            out["child_error"] = repr(exc)
        finally:
            os.write(write_end, json.dumps(out).encode())
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    result: dict[str, object] = json.loads(data)
    return result


def test_files_are_private(daemon: Daemon) -> None:
    daemon.client().post("/api/memories", json={"content": "make the WAL exist"})
    assert stat.S_IMODE(daemon.socket.stat().st_mode) == 0o600
    assert stat.S_IMODE(daemon.socket.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(daemon.db.parent.stat().st_mode) == 0o700
    for suffix in ("", "-wal", "-shm", ".lock"):
        path = Path(f"{daemon.db}{suffix}")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    key = daemon.home / "keys" / "memory.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


@pytest.mark.skipif(os.getuid() != 0, reason="switching to another uid needs root")
def test_another_uid_is_refused_by_modes_then_by_peer_credentials(daemon: Daemon) -> None:
    client = daemon.client()
    assert client.get("/health").status_code == 200
    # As the modes are: the 0700 directories stop uid 65534 before the socket.
    blocked = foreign_client(daemon.socket)
    assert blocked == {"uid": NOBODY, "connect_error": "PermissionError"}
    # Opened up by hand: the connection is made, and SO_PEERCRED makes the daemon drop it
    # before answering a single byte.
    opened = [daemon.home, daemon.socket.parent]
    try:
        for directory in opened:
            os.chmod(directory, 0o711)
        os.chmod(daemon.socket, 0o666)
        refused = foreign_client(daemon.socket)
    finally:
        for directory in opened:
            os.chmod(directory, 0o700)
        os.chmod(daemon.socket, 0o600)
    assert refused["connected"] is True
    assert refused.get("reply", "") == "" or "reply_error" in refused
    # Our own uid is still served, and the refusal was logged.
    assert client.get("/health").json()["status"] == "ok"
    daemon.signal(signal.SIGTERM)
    assert f"refused a connection from uid {NOBODY}" in daemon.output()


def test_second_daemon_on_the_same_socket_exits_0_at_once(daemon: Daemon) -> None:
    started = time.monotonic()
    second = run_module("memoryd", "serve", env=daemon.env, timeout=30)
    assert second.returncode == 0
    assert "already running" in second.stderr
    assert str(daemon.proc.pid if daemon.proc else "") in second.stderr
    assert time.monotonic() - started < 5
    assert daemon.client().get("/health").json()["pid"] == (daemon.proc.pid if daemon.proc else 0)


def test_second_daemon_for_the_same_database_on_another_socket_refuses(daemon: Daemon) -> None:
    other_socket = short_tmpdir() / "run" / "other.sock"
    env = {**daemon.env, "MEMORY_SOCKET": str(other_socket)}
    second = run_module("memoryd", "serve", env=env, timeout=30)
    assert second.returncode == 1
    assert "already served" in second.stderr and str(daemon.socket) in second.stderr
    assert "Traceback" not in second.stderr
    assert not other_socket.exists()
    assert daemon.client().get("/health").status_code == 200


def test_stale_socket_of_a_killed_daemon_is_replaced() -> None:
    home = short_tmpdir()
    first = Daemon(home, daemon_env(home)).start()
    first.client().post("/api/memories", json={"content": "Survives a SIGKILL of the daemon"})
    assert first.proc is not None
    first.proc.kill()
    first.proc.wait()
    first.stop()
    assert first.socket.exists()  # left behind, nobody listening
    with socket.socket(socket.AF_UNIX) as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(str(first.socket))
    second = Daemon(home, daemon_env(home)).start()
    try:
        health = second.client().get("/health").json()
        assert health["memories"] == 1 and health["pid"] == (second.proc.pid if second.proc else 0)
    finally:
        assert second.stop() == 0
    assert not second.socket.exists()


def _collect_output(proc: subprocess.Popen[bytes], lines: list[str]) -> threading.Thread:
    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.append(raw.decode(errors="replace"))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def test_sigterm_lets_requests_in_flight_finish_then_cleans_up() -> None:
    home = short_tmpdir()
    daemon = Daemon(home, daemon_env(home)).start()
    assert daemon.proc is not None
    lines: list[str] = []
    pump = _collect_output(daemon.proc, lines)
    # Three requests whose bodies are half sent: the daemon has started each of them.
    bodies = [
        json.dumps({"content": f"In flight during shutdown number {n}"}).encode() for n in range(3)
    ]
    conns = []
    for body in bodies:
        conn = socket.socket(socket.AF_UNIX)
        conn.settimeout(20)
        conn.connect(str(daemon.socket))
        conn.sendall(
            b"POST /api/memories HTTP/1.1\r\nHost: memoryd\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        conns.append(conn)
    # A full round trip on another connection: the half-sent requests were read before it.
    probe = httpx.Client(transport=httpx.HTTPTransport(uds=str(daemon.socket)))
    assert probe.get("http://memoryd/health").status_code == 200
    probe.close()
    daemon.signal(signal.SIGTERM)
    wait_until(
        lambda: any("Waiting for connections to close" in line for line in lines),
        10,
        "memoryd to say it waits for connections",
        interval=0.01,
    )
    assert daemon.proc.poll() is None  # still waiting for our requests
    replies = []
    for conn, body in zip(conns, bodies, strict=True):
        conn.sendall(body[10:])
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
        conn.close()
        replies.append(reply.decode())
    assert all(r.startswith("HTTP/1.1 201") for r in replies), replies
    assert daemon.proc.wait(20) == 0
    pump.join(5)
    assert daemon.proc.stdout is not None
    daemon.proc.stdout.close()
    assert not daemon.socket.exists()
    # Closed cleanly: no WAL left to replay, and every write is there.
    assert not Path(f"{daemon.db}-wal").exists() or Path(f"{daemon.db}-wal").stat().st_size == 0
    with sqlite3.connect(daemon.db) as conn:
        stored = {r[0] for r in conn.execute("SELECT content FROM memories")}
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert stored == {json.loads(b)["content"] for b in bodies}
    daemon.proc = None
    daemon.stop()


@pytest.mark.slow
def test_16_concurrent_clients_200_stores_each() -> None:
    with running_daemon() as daemon:
        errors: list[str] = []

        async def one_client(n: int) -> list[str]:
            ids = []
            async with daemon.async_client() as client:
                for i in range(200):
                    response = await client.post(
                        "/api/memories",
                        json={"content": f"client {n} store {i}", "tags": [f"c{n}"]},
                    )
                    if response.status_code != 201:
                        errors.append(f"{response.status_code} {response.text}")
                    else:
                        ids.append(response.json()["id"])
            return ids

        async def run_all() -> list[list[str]]:
            return await asyncio.gather(*(one_client(n) for n in range(16)))

        results = asyncio.run(run_all())
        assert errors == []
        all_ids = [i for ids in results for i in ids]
        assert len(all_ids) == len(set(all_ids)) == 3200
        client = daemon.client()
        assert client.get("/health").json()["memories"] == 3200
        for n in range(16):
            assert client.get("/api/memories", params={"tag": f"c{n}"}).json()["total"] == 200
        daemon.signal(signal.SIGTERM)
        assert "database is locked" not in daemon.output()
        assert daemon.stop() == 0


def test_health_reports_version_pid_db_and_count(daemon: Daemon) -> None:
    client: httpx.Client = daemon.client()
    client.post("/api/memories", json={"content": "counted"})
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["pid"] == (daemon.proc.pid if daemon.proc else 0)
    assert health["db"] == str(daemon.db)
    assert health["memories"] == 1
    assert health["version"] and isinstance(health["protocol"], int)
    wait_for_socket(daemon.socket, daemon.proc)
