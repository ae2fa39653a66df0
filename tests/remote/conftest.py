"""A real `memory-hub serve` process on a loopback port, over a fresh database of the real
PostgreSQL cluster, and a real `memoryd serve` in HTTP-only mode pointed at it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.hub.conftest import KEYS, hub_dsn
from tests.support import Daemon, running_daemon

__all__ = ["KEYS", "hub_dsn"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class HubProcess:
    url: str
    proc: subprocess.Popen[bytes]
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def client(self, user: str) -> httpx.Client:
        """The hub's own API, as `user`: where the tests check what the daemon wrote."""
        if user not in self.clients:
            self.clients[user] = httpx.Client(
                base_url=self.url, headers={"Authorization": f"Bearer {KEYS[user]}"}, timeout=30
            )
        return self.clients[user]

    def stop(self) -> None:
        for client in self.clients.values():
            client.close()
        self.clients.clear()
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        if self.proc.stdout:
            self.proc.stdout.close()


@pytest.fixture
def hub_process(hub_dsn: str) -> Iterator[HubProcess]:
    env = {
        **os.environ,
        "DATABASE_URL": hub_dsn,
        "API_KEYS": json.dumps(KEYS),
        "MEMORY_ENCRYPTION_KEY": "c" * 64,
    }
    migrated = subprocess.run(
        [sys.executable, "-m", "memory_hub", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "memory_hub", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    hub = HubProcess(f"http://127.0.0.1:{port}", proc)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"{hub.url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "hub did not become healthy"
            time.sleep(0.05)
        yield hub
    finally:
        hub.stop()


def http_only_env(hub_url: str, user: str = "alice", **extra: str) -> dict[str, str]:
    return {
        "MEMORY_API_URL": hub_url,
        "MEMORY_API_KEY": KEYS[user],
        "MEMORY_SYNC_DISABLE": "1",
        **extra,
    }


@pytest.fixture
def http_daemon(hub_process: HubProcess) -> Iterator[Daemon]:
    with running_daemon(**http_only_env(hub_process.url)) as daemon:
        yield daemon
