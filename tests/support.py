"""Shared test helpers: real daemon processes on temporary sockets, and clients for them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def short_tmpdir(prefix: str = "md") -> Path:
    """A fresh directory with a short path: AF_UNIX paths are limited to ~104 bytes."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def daemon_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_", "CLAUDE_MEMORY"))}
    env.pop("XDG_RUNTIME_DIR", None)
    env.update(MEMORY_HOME=str(home), MEMORY_SOCKET=str(home / "run" / "d.sock"))
    env.update(extra)
    return env


def wait_for_socket(
    path: Path, proc: subprocess.Popen[bytes] | None, timeout: float = 15.0
) -> None:
    """Poll until the socket accepts connections (or the process dies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise RuntimeError(f"daemon exited with {proc.returncode}:\n{out}")
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(path))
                return
            except OSError:
                pass
        time.sleep(0.02)
    raise TimeoutError(f"daemon did not listen on {path} within {timeout}s")


@dataclass
class Daemon:
    home: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def socket(self) -> Path:
        return Path(self.env["MEMORY_SOCKET"])

    @property
    def db(self) -> Path:
        return Path(self.env.get("MEMORY_DB", str(self.home / "memory" / "memory.db")))

    def start(self) -> Daemon:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "memoryd", "serve"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        wait_for_socket(self.socket, self.proc)
        return self

    def client(self, timeout: float = 30.0) -> httpx.Client:
        client = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(self.socket)),
            base_url="http://memoryd",
            timeout=timeout,
        )
        self.clients.append(client)
        return client

    def async_client(self, timeout: float = 30.0) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=str(self.socket)),
            base_url="http://memoryd",
            timeout=timeout,
        )

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 20.0) -> int:
        for client in self.clients:
            client.close()
        self.clients.clear()
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    def output(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        return self.proc.stdout.read().decode()


@contextmanager
def running_daemon(**extra_env: str) -> Iterator[Daemon]:
    home = short_tmpdir()
    daemon = Daemon(home, daemon_env(home, **extra_env)).start()
    try:
        yield daemon
    finally:
        daemon.stop()
