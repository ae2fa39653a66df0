"""Shared test helpers: real daemon and hub processes (temporary sockets, loopback ports),
clients for them, the project's commands run as processes, polling with a deadline, and where
the Claude Code CLI is."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
# The pinned Claude Code CLI that `make test` installs with npm (.ci/claude-code); tests that
# drive it are marked `requires_claude_cli` (tests/conftest.py says what that does).
CLAUDE_CLI = Path(
    os.environ.get("MEMORYD_CLAUDE_CLI", REPO / ".ci/claude-code/node_modules/.bin/claude")
)


def wait_until(
    condition: Callable[[], object], timeout: float, what: str, interval: float = 0.05
) -> None:
    """Poll `condition` until it holds; after `timeout` seconds fail the test, saying `what`
    it waited for. The way tests wait for another process: a deadline, never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


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


def terminate(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """Stop a process the way a service manager does (SIGTERM, then SIGKILL once `timeout` is
    up), close the pipe of its output, and return its exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout:
        proc.stdout.close()
    return proc.returncode


@dataclass
class Daemon:
    home: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    clients: list[httpx.Client] = field(default_factory=list)
    cwd: Path | None = None  # where `python -m memoryd` finds the code (benches compare two)

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
            cwd=self.cwd,
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
        return terminate(self.proc, timeout)

    def output(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        return self.proc.stdout.read().decode()


def store(client: httpx.Client, content: str, **fields: object) -> str:
    """A memory stored through POST /api/memories (it must be created: 201); its id."""
    response = client.post("/api/memories", json={"content": content, **fields})
    assert response.status_code == 201, response.text
    memory_id: str = response.json()["id"]
    return memory_id


@contextmanager
def running_daemon(**extra_env: str) -> Iterator[Daemon]:
    home = short_tmpdir()
    daemon = Daemon(home, daemon_env(home, **extra_env)).start()
    try:
        yield daemon
    finally:
        daemon.stop()


def run_module(
    module: str, *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m module args…` as a process, its output captured as text; never raises on
    its exit status (the tests assert it)."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def serve_refuses(env: dict[str, str], message: str) -> None:
    """`memoryd serve` stops at start-up with status 2 and `message`, and no traceback."""
    done = run_module("memoryd", "serve", env=env)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def damage_schema_page(db: Path) -> None:
    """Overwrite bytes 100-300: the header still says SQLite, the schema page is garbage."""
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    data[100:300] = bytes((i * 37 + 11) % 251 for i in range(200))
    db.write_bytes(bytes(data))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class HubServer:
    """`memory-hub serve` as a child process on a loopback port, its output in a log file;
    stop() then start() again keeps its port and its database."""

    def __init__(self, env: dict[str, str], cwd: Path = REPO) -> None:
        self.env = env
        self.cwd = cwd  # where `python -m memory_hub` finds the code (benches compare two)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = short_tmpdir("hublog") / "hub.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.clients: list[httpx.Client] = []

    def migrate(self) -> subprocess.CompletedProcess[str]:
        return run_module("memory_hub", "migrate", env=self.env)

    def start(self) -> HubServer:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "memory_hub", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port)],
                cwd=self.cwd, env=self.env, stdout=log, stderr=log,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"memory-hub exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)  # polling the start-up with a deadline, not synchronising
        raise TimeoutError(f"memory-hub did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        """Stop the process and close the clients handed out so far."""
        for client in self.clients:
            client.close()
        self.clients.clear()
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
            self.proc.wait(30)
            self.proc = None

    def client(self, api_key: str) -> httpx.Client:
        """The hub's REST API with `api_key`, closed by stop()."""
        client = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
        )
        self.clients.append(client)
        return client
