"""Socket activation, emulated with systemd-socket-activate: memoryd takes the listening socket
from LISTEN_FDS, tells NOTIFY_SOCKET it is ready (and stopping), and may exit when idle."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import short_tmpdir, terminate


@dataclass
class Activated:
    proc: subprocess.Popen[bytes]
    socket: Path
    notify: socket.socket

    def messages(self, until: str, timeout: float = 20.0) -> list[str]:
        """Datagrams received on NOTIFY_SOCKET up to the one containing `until`."""
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.notify.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                got.append(self.notify.recv(4096).decode())
            except TimeoutError:
                break
            if until in got[-1]:
                return got
        raise AssertionError(f"no {until!r} from memoryd; got {got}")

    def output(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.read().decode()


@contextmanager
def activated(*serve_args: str) -> Iterator[Activated]:
    tmp = short_tmpdir()
    sock = tmp / "run" / "memoryd.sock"
    sock.parent.mkdir(mode=0o700)
    notify_path = tmp / "notify"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    env = {
        "MEMORY_HOME": str(tmp / "home"),
        "MEMORY_SOCKET": str(sock),
        "NOTIFY_SOCKET": str(notify_path),
        "PATH": os.environ["PATH"],
        "HOME": str(tmp),
    }
    argv = ["systemd-socket-activate", "-l", str(sock)]
    for name, value in env.items():
        argv += ["-E", f"{name}={value}"]
    argv += [sys.executable, "-m", "memoryd", "serve", *serve_args]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while not sock.exists():  # the tool binds first, then starts memoryd on a connection
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    try:
        yield Activated(proc, sock, notify)
    finally:
        terminate(proc, 20)
        notify.close()


def client(path: Path) -> httpx.Client:
    return httpx.Client(
        transport=httpx.HTTPTransport(uds=str(path)), base_url="http://memoryd", timeout=30
    )


@pytest.mark.slow
def test_memoryd_serves_the_socket_it_is_given_and_notifies() -> None:
    with activated() as run:
        with client(run.socket) as c:
            # The first connection is what starts memoryd; it waits in the socket's backlog.
            assert c.get("/health").json()["status"] == "ok"
            ready = run.messages("READY=1")
            stored = c.post(
                "/api/memories", json={"content": "activated write", "category": "facts"}
            )
            assert stored.status_code == 201
        assert any("STATUS=serving" in m for m in ready)
        run.proc.send_signal(signal.SIGTERM)
        assert run.proc.wait(20) == 0
        assert any("STOPPING=1" in m for m in run.messages("STOPPING=1"))
        out = run.output()
    assert "listening on socket from the service manager" in out
    # The socket belongs to the service manager: memoryd leaves the file alone.
    assert run.socket.exists()


@pytest.mark.slow
def test_idle_exit_when_socket_activated() -> None:
    with activated("--idle-exit", "0.5") as run:
        with client(run.socket) as c:
            assert c.get("/health").status_code == 200
        assert run.proc.wait(20) == 0  # by itself: nobody signalled it
        assert "stopped (idle for 0.5 s)" in run.output()


def test_listen_fds_ignores_variables_meant_for_another_process() -> None:
    from memoryd.service.activation import listen_fds

    assert listen_fds({"LISTEN_PID": str(os.getpid() + 1), "LISTEN_FDS": "1"}) == []
    assert listen_fds({"LISTEN_FDS": "1"}) == []
