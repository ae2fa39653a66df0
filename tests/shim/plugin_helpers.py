"""Helpers for the plugin bootstrap tests (plugin_env/): a fake plugin whose build needs no
network, a line-by-line MCP client for the front, and a Claude Code-like end of a process tree.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import REPO

# A package that builds with an in-tree PEP 517 backend (nothing to download): its wheel waits
# for a gate file, so that a test can act while pip is busy building it.
BACKEND = """
import base64, hashlib, os, pathlib, time, zipfile

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    pathlib.Path(os.environ["FAKE_BUILDING"]).touch()
    while not pathlib.Path(os.environ["FAKE_GATE"]).exists():
        time.sleep(0.02)
    files = {
        "fakeplug.py": b"READY = 'installed'\\n",
        "fakeplug-0.1.dist-info/METADATA": (
            b"Metadata-Version: 2.1\\nName: fakeplug\\nVersion: 0.1\\n"
        ),
        "fakeplug-0.1.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
        ),
    }
    def digest(data):
        raw = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        return "sha256=" + raw.decode()
    record = "".join(f"{n},{digest(d)},{len(d)}\\n" for n, d in files.items())
    record += "fakeplug-0.1.dist-info/RECORD,,\\n"
    name = "fakeplug-0.1-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
        wheel.writestr("fakeplug-0.1.dist-info/RECORD", record)
    return name
"""


# The fake plugin's MCP server (`python -m mcp_shim` in its environment): answers initialize,
# and anything else with a text naming the method.
FAKE_SHIM = """
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:
        continue
    if message["method"] == "initialize":
        version = message["params"]["protocolVersion"]
        result = {"protocolVersion": version, "capabilities": {}, "serverInfo": {"name": "fake"}}
    else:
        result = {"content": [{"type": "text", "text": "fake shim: " + message["method"]}]}
    print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}), flush=True)
"""


def fake_package(where: Path) -> Path:
    where.mkdir(parents=True)
    (where / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "fakeplug"\nversion = "0.1"\n'
    )
    (where / "backend.py").write_text(BACKEND)
    return where


def fake_plugin(root: Path, requirements: str, version: str = "9.9.9") -> Path:
    """A plugin directory with the real bootstrap (symlinked), its own requirements and a
    stand-in for the shim; the build's warm-up imports `fakeplug` instead of memoryd."""
    (root / ".claude-plugin").mkdir(parents=True)
    manifest = {"name": "fake", "version": version}
    (root / ".claude-plugin" / "plugin.json").write_text(json.dumps(manifest))
    (root / "scripts").mkdir()
    for script in ("plugin_python.py", "mcp_front.py"):
        (root / "scripts" / script).symlink_to(REPO / "scripts" / script)
    (root / "plugin_env").mkdir()
    for module in (REPO / "plugin_env").glob("*.py"):
        (root / "plugin_env" / module.name).symlink_to(module)
    (root / "plugin_env" / "shim_tools.json").symlink_to(REPO / "plugin_env" / "shim_tools.json")
    (root / "plugin_env" / "requirements.txt").write_text(requirements + "\n")
    (root / "plugin_env" / "warm_up.txt").write_text("# the fake plugin's module\nfakeplug\n")
    (root / "mcp_shim").mkdir()
    (root / "mcp_shim" / "__main__.py").write_text(FAKE_SHIM)
    return root


def plugin_env(**env: str) -> dict[str, str]:
    """This process's environment less Claude Code's and memoryd's variables, plus `env`."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLAUDE", "MEMORYD_", "MEMORY_", "PIP_", "UV_"))
    }
    return {**base, **env}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class McpPipe:
    """A JSON-RPC-over-stdio client for the front: lines in, lines out, with deadlines."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,  # like Claude Code's servers: a group of their own
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(b"")

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def receive(self, timeout: float = 30.0) -> dict[str, Any]:
        line = self.lines.get(timeout=timeout)
        assert line, f"the server closed stdout (exit {self.proc.poll()})"
        message: dict[str, Any] = json.loads(line)
        return message

    def request(self, ident: Any, method: str, params: dict[str, Any] | None = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def answer(self, ident: Any, timeout: float = 30.0) -> dict[str, Any]:
        """The response to `ident`, skipping notifications."""
        while True:
            message = self.receive(timeout)
            if message.get("id") == ident and "method" not in message:
                return message

    def initialize(self) -> dict[str, Any]:
        self.request(
            0,
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": {"roots": {"listChanged": True}},
                "clientInfo": {"name": "test", "version": "1"},
            },
        )
        result = self.answer(0)["result"]
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return result

    def close(self) -> int:
        """Close stdin, as Claude Code does first; the exit status."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        status = self.proc.wait(30)
        self.reader.join(10)
        self.proc.stdout.close()
        return status

    def kill_tree(self) -> None:
        """What Claude Code may do to a server it gives up on: SIGKILL to it, its process
        group and every process below it."""
        for pid in [self.proc.pid, *descendants(self.proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.close()


def front(root: Path, env: dict[str, str]) -> McpPipe:
    return McpPipe([sys.executable, str(root / "scripts" / "mcp_front.py")], env)
