"""The plugin as the real Claude Code CLI (pinned in .ci/claude-code, installed by `make test`
when npm is available) sees it. `plugin validate` and `mcp list` need no API key; sessions
(`claude -p`) talk to the local fake Messages API (tests/hooks/fake_anthropic.py). The first
session after install builds the plugin's environment from the package index (with empty
caches, so that a warm cache cannot hide a slow or broken install), once with pip and once
with uv.

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
from typing import Any

import httpx
import pytest

from tests.hooks.fake_anthropic import FakeAnthropic, fake_anthropic, tool_results
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
        if not k.startswith(("MEMORY_", "CLAUDE", "ANTHROPIC", "MEMORYD_PLUGIN", "PIP_", "UV_"))
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


STORE_TOOL = "mcp__plugin_memoryd_memory__memory_store"
STORED = "The orders service deploys with Nomad"


def call_store_once(body: dict[str, Any]) -> tuple[str, dict[str, Any], str] | None:
    """The fake model: in its first turn, store a memory with the plugin's tool."""
    if "toolu_store" in tool_results(body):
        return None
    arguments = {"content": STORED, "expanded_keywords": "orchestration scheduler hashicorp"}
    return STORE_TOOL, arguments, "toolu_store"


@pytest.mark.slow
@pytest.mark.timeout(600)  # a cold install of every dependency, on a shared box
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_the_first_session_after_install_lists_and_uses_the_memory_tools(
    sandbox: dict[str, str], installer: str
) -> None:
    """A fresh HOME, empty package caches, the package index reachable: the first `claude -p`
    with the plugin already offers the memory tools to the model, and the model's
    memory_store succeeds (it waits for the install that the session started); the memory is
    in the daemon. The next session starts the shim at once, without installing again."""
    home = Path(sandbox["HOME"])
    data = home / ".claude" / "plugins" / "data" / "memoryd-inline"
    stale = data / "venv-0.0.1"
    stale.mkdir(parents=True)  # an older plugin version's env, to be dropped
    caches = {"PIP_CACHE_DIR": home / "pip-cache", "UV_CACHE_DIR": home / "uv-cache"}
    for cache in caches.values():
        cache.mkdir()
    sandbox.update({name: str(path) for name, path in caches.items()})
    sandbox["MEMORYD_PLUGIN_INSTALLER"] = installer
    if installer == "uv":  # uv on PATH, from the dev environment
        tools = home / "uv-bin"
        tools.mkdir()
        (tools / "uv").symlink_to(Path(sys.executable).parent / "uv")
        sandbox["PATH"] = f"{tools}:{sandbox['PATH']}"
    project = home / "proj"
    project.mkdir()
    with fake_anthropic(FakeAnthropic(on_tools=call_store_once)) as fake:
        session = {
            **sandbox,
            "ANTHROPIC_API_KEY": "sk-fake",
            "ANTHROPIC_BASE_URL": fake.url,
            "ENABLE_TOOL_SEARCH": "false",
        }
        prompt = "Remember: orders deploy with Nomad."
        argv = [str(CLAUDE_CLI), "-p", prompt, "--plugin-dir", str(REPO), "--output-format", "json"]
        started = time.monotonic()
        done = subprocess.run(
            [*argv, "--debug-file", str(home / "debug.txt")],
            env=session,
            cwd=project,
            capture_output=True,
            text=True,
            timeout=540,
        )
        first_seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["result"] == "FAKE-ANSWER done"
    agent = [b for b in fake.requests if not (b.get("output_config") or {}).get("format")]
    # The tools were listed at once: the model's first request already offered them.
    assert STORE_TOOL in {tool["name"] for tool in agent[0].get("tools", [])}
    stored = tool_results(agent[-1])["toolu_store"]
    assert not stored.get("is_error"), stored
    # Claude Code hands the model the structured result, as JSON text.
    memory_id = json.loads(stored["content"])["id"]
    socket = httpx.HTTPTransport(uds=sandbox["MEMORY_SOCKET"])
    with httpx.Client(transport=socket, base_url="http://memoryd", timeout=30) as daemon:
        listed = daemon.get("/api/memories").json()["memories"]
    assert [(m["id"], m["content"]) for m in listed] == [(memory_id, STORED)]

    # The environment came from the package index into the empty caches, with the installer
    # asked for, once; the older version's env is gone.
    venv = data / f"venv-{plugin_version()}"
    assert (venv / ".memoryd-plugin-version").read_text().startswith(plugin_version() + " ")
    installed = (data / "install.log").read_text()
    assert installed.count("--- installed memoryd plugin") == 1, installed
    assert ("(uv): " in installed) == (installer == "uv")
    if installer == "uv":
        assert any(caches["UV_CACHE_DIR"].iterdir())
    else:  # pip logs each download, and "Using cached" for what a cache had
        assert "Downloading " in installed and "Using cached" not in installed
    assert not stale.exists()

    started = time.monotonic()
    second = claude(sandbox, "--plugin-dir", str(REPO), "mcp", "list")
    second_seconds = time.monotonic() - started
    assert "plugin:memoryd:memory:" in second and "✔ Connected" in second, second
    assert (data / "install.log").read_text() == installed  # no reinstall
    # ~1.5 s on an idle machine (the shim's imports); the bound leaves room for a loaded one.
    assert second_seconds < 30, (first_seconds, second_seconds)
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
