"""Helpers for the shim tests: a real MCP client launching the shim over stdio, and a view of
which memoryd processes serve a given MEMORY_HOME (read from /proc, so we never touch other
developers' daemons)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.support import REPO, wait_until


def shim_env(home: Path, **extra: str) -> dict[str, str]:
    """What the shim gets on top of the SDK's minimal default environment."""
    env = {
        "MEMORY_HOME": str(home),
        "MEMORY_SOCKET": str(home / "run" / "d.sock"),
        "PYTHONPATH": str(REPO),
    }
    env.update(extra)
    return env


def shim_params(home: Path, cwd: Path | None = None, **extra: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_shim"],
        env=shim_env(home, **extra),
        cwd=str(cwd or home),
    )


def raw_shim(home: Path, env: dict[str, str], stderr: int) -> subprocess.Popen[bytes]:
    """`python -m mcp_shim` with pipes on stdin and stdout, for tests that write JSON-RPC lines
    themselves (no client library between them and the shim)."""
    return subprocess.Popen(
        [sys.executable, "-m", "mcp_shim"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
        cwd=home,
    )


@asynccontextmanager
async def shim(home: Path, cwd: Path | None = None, **extra: str) -> AsyncIterator[Client]:
    async with Client(shim_params(home, cwd, **extra), read_timeout_seconds=20) as client:
        yield client


def daemon_pids(home: Path) -> list[int]:
    """Live `memoryd serve` processes whose MEMORY_HOME is `home`."""
    wanted = f"MEMORY_HOME={home}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"memoryd" in cmdline and b"serve" in cmdline and wanted in environ:
            pids.append(int(entry.name))
    return sorted(pids)


def stop_daemons(home: Path) -> None:
    """Terminate the daemons this test's shims started (only those serving `home`)."""
    for pid in daemon_pids(home):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    wait_until(lambda: not daemon_pids(home), 20, f"memoryd for {home} to stop")


@contextmanager
def mute_socket(home: Path) -> Iterator[None]:
    """The home's daemon socket accepting connections and never replying, as a stuck or
    very busy daemon would."""
    sock_path = home / "run" / "d.sock"
    sock_path.parent.mkdir(mode=0o700, parents=True)
    mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mute.bind(str(sock_path))
    mute.listen(64)
    try:
        yield
    finally:
        mute.close()
