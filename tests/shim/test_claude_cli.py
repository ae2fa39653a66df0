"""The plugin as the real Claude Code CLI (pinned in .ci/claude-code, installed by `make test`
when npm is available) sees it. Offline: `plugin validate` and `mcp list` need no API key.

Marked `requires_claude_cli`: without the CLI these tests skip, saying so (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.shim.helpers import daemon_pids, stop_daemons
from tests.support import CLAUDE_CLI, REPO, short_tmpdir

pytestmark = pytest.mark.requires_claude_cli


def plugin_version() -> str:
    manifest = json.loads((REPO / ".claude-plugin" / "plugin.json").read_text())
    return str(manifest["version"])


@pytest.fixture
def sandbox() -> Iterator[dict[str, str]]:
    """An isolated HOME (Claude Code's config and plugin data) and MEMORY_HOME."""
    home = short_tmpdir("cc")
    memory_home = home / "m"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEMORY_", "CLAUDE", "ANTHROPIC", "MEMORYD_PLUGIN"))
    }
    env.pop("XDG_RUNTIME_DIR", None)
    env.update(
        HOME=str(home),
        MEMORY_HOME=str(memory_home),
        MEMORY_SOCKET=str(memory_home / "run" / "d.sock"),
        DISABLE_AUTOUPDATER="1",
    )
    try:
        yield env
    finally:
        stop_daemons(memory_home)


def run_claude(
    env: dict[str, str], *args: str, cwd: Path = REPO, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLAUDE_CLI), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def claude(env: dict[str, str], *args: str, cwd: Path = REPO, timeout: float = 300) -> str:
    done = run_claude(env, *args, cwd=cwd, timeout=timeout)
    return done.stdout + done.stderr


def test_plugin_validate_strict_passes(sandbox: dict[str, str]) -> None:
    done = run_claude(sandbox, "plugin", "validate", "--strict", ".", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation passed" in done.stdout
    report = json.loads(run_claude(sandbox, "plugin", "validate", "--json", ".", timeout=60).stdout)
    assert report["success"] is True
    provides = report["provides"]
    assert [server["name"] for server in provides["mcpServers"]] == ["memory"]
    assert sorted(provides["commands"]) == ["memoryd:recall", "memoryd:remember"]
    assert provides["skills"] == ["memoryd:memory-management"]


@pytest.mark.slow
@pytest.mark.timeout(400)  # a pip install of every dependency, on a shared box
def test_first_session_installs_the_plugin_env_and_the_server_connects(
    sandbox: dict[str, str],
) -> None:
    """`claude mcp list` spawns the plugin's server as a session would: the first time, the
    bootstrap pip-installs the project into ${CLAUDE_PLUGIN_DATA}; the second time it does not."""
    data = Path(sandbox["HOME"]) / ".claude" / "plugins" / "data" / "memoryd-inline"
    stale = data / "venv-0.0.1"
    stale.mkdir(parents=True)  # an older plugin version's env, to be dropped
    # Claude Code's default MCP_TIMEOUT is 30 s; the install takes ~15-20 s on an idle machine.
    # A loaded CI box can be slower, and this test is about the bootstrap, not the timeout.
    sandbox["MCP_TIMEOUT"] = "240000"
    started = time.monotonic()
    first = claude(sandbox, "--plugin-dir", str(REPO), "mcp", "list")
    first_seconds = time.monotonic() - started
    assert "plugin:memoryd:memory:" in first and "✔ Connected" in first, first
    venv = data / f"venv-{plugin_version()}"
    assert (venv / ".memoryd-plugin-version").read_text().strip() == plugin_version()
    assert not stale.exists()
    installed = (data / "install.log").read_text()
    assert installed.count("--- installed memoryd plugin") == 1

    started = time.monotonic()
    second = claude(sandbox, "--plugin-dir", str(REPO), "mcp", "list")
    second_seconds = time.monotonic() - started
    assert "✔ Connected" in second, second
    assert (data / "install.log").read_text() == installed  # no reinstall
    assert second_seconds < 10, (first_seconds, second_seconds)
    # The shim started the daemon, with the plugin env's interpreter.
    [pid] = daemon_pids(Path(sandbox["MEMORY_HOME"]))
    exe = os.readlink(f"/proc/{pid}/exe")
    assert Path(exe).resolve() == (venv / "bin" / "python").resolve()


def test_manual_mcp_add_for_a_pip_install_connects(sandbox: dict[str, str]) -> None:
    """The README's `claude mcp add` line for a pip-installed memoryd."""
    project = short_tmpdir("pj")
    added = claude(
        sandbox,
        "mcp",
        "add",
        "--scope",
        "user",
        "memory",
        "--",
        sys.executable,
        "-m",
        "mcp_shim",
        cwd=project,
    )
    assert "Added stdio MCP server memory" in added, added
    listed = claude(sandbox, "mcp", "list", cwd=project)
    assert "memory:" in listed and "✔ Connected" in listed, listed
