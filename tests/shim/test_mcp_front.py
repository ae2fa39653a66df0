"""plugin_env/front.py, the plugin's MCP server while its environment is being built: it
answers as the real shim does (the generated answers agree with mcp_shim's definitions),
holds tool calls until the build is done and then hands them to the real shim, against a real
daemon; or says what failed."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from plugin_env.build import Step, build
from plugin_env.layout import Layout
from plugin_env.status import FAILED, BuildStatus, write_status
from tests.shim.plugin_helpers import McpPipe, front, plugin_env
from tests.shim.test_tools import TOOLS
from tests.support import REPO, Daemon, running_daemon, short_tmpdir
from tests.test_architecture import imported_modules

GENERATOR = REPO / "scripts" / "gen_plugin_env.py"
ANSWERS = json.loads((REPO / "plugin_env" / "shim_tools.json").read_text())
STORE = {
    "name": "memory_store",
    "arguments": {
        "content": "The orders service deploys with Nomad",
        "expanded_keywords": "orchestration scheduler cluster hashicorp deploy",
    },
}

PROMPT_HOOK = {
    "name": "memory_prompt_context",
    "arguments": {"prompt": "deploy the orders service", "session_id": "s-1", "cwd": "/tmp"},
}
NOTHING = {"content": [{"type": "text", "text": "{}"}], "isError": False}


def test_the_generated_answers_and_requirements_are_current(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    # --check notices a change (here: a tool description edited by hand).
    for name in ("shim_tools.json", "requirements.txt"):
        shutil.copy(REPO / "plugin_env" / name, tmp_path / name)
    stale = json.loads((tmp_path / "shim_tools.json").read_text())
    stale["lists"]["tools/list"]["tools"][0]["description"] = "edited"
    (tmp_path / "shim_tools.json").write_text(json.dumps(stale))
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--check", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "out of date: " in done.stderr
    assert str(tmp_path / "shim_tools.json") in done.stderr


def test_the_answers_are_the_shims_tools() -> None:
    tools = {tool["name"]: tool for tool in ANSWERS["lists"]["tools/list"]["tools"]}
    assert set(tools) == TOOLS
    assert tools["memory_store"]["inputSchema"]["required"] == ["content", "expanded_keywords"]
    assert ANSWERS["initialize"]["serverInfo"]["name"] == "memoryd"
    assert "memory_recall" in ANSWERS["initialize"]["instructions"]
    # The plugin's environment leaves out the hub's driver, which nothing it runs imports.
    requirements = (REPO / "plugin_env" / "requirements.txt").read_text()
    assert "mcp>=" in requirements and "\nasyncpg" not in requirements
    for part in ("memoryd", "mcp_shim", "memory_core"):
        for path in (REPO / part).rglob("*.py"):
            assert all(m.split(".")[0] != "asyncpg" for _, m in imported_modules(path)), path


def test_the_front_is_stdlib_only_and_nothing_imports_it() -> None:
    own = {"plugin_env"}
    for path in [*(REPO / "plugin_env").glob("*.py"), *(REPO / "scripts").glob("*_*.py")]:
        if path.name == "gen_plugin_env.py":  # a development tool, run with the venv
            continue
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            assert top in sys.stdlib_module_names or top in own, f"{path}:{line} {module}"
    for part in ("memory_core", "memoryd", "mcp_shim", "memory_hub", "hooks"):
        for path in (REPO / part).rglob("*.py"):
            assert all(m.split(".")[0] != "plugin_env" for _, m in imported_modules(path)), path


@contextmanager
def build_running(layout: Layout) -> Iterator[None]:
    """What a build in progress looks like to the front: the lock, held."""
    layout.data.mkdir(parents=True, exist_ok=True)
    with open(layout.lock, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ready_environment(layout: Layout) -> None:
    """An environment built by plugin_env.build, quickly: the venv gets this test run's
    packages through a .pth instead of installing them."""
    site, target = sysconfig.get_path("purelib"), str(layout.build_dir)
    link = (
        "import pathlib, sys; "
        "venv_site = next(pathlib.Path(sys.argv[1]).glob('lib/python3*/site-packages')); "
        "venv_site.joinpath('dev.pth').write_text(sys.argv[2])"
    )
    steps = [
        Step(
            "create the virtual environment",
            (sys.executable, "-m", "venv", "--without-pip", target),
        ),
        Step("link the test run's packages", (sys.executable, "-c", link, target, site)),
    ]

    def run(step: Step) -> int:
        return subprocess.run(step.argv, capture_output=True, timeout=120).returncode

    build(layout, steps, run)
    assert layout.ready()


@pytest.fixture
def daemon() -> Iterator[Daemon]:
    with running_daemon() as running:
        yield running


def start_front(layout: Layout, daemon: Daemon) -> McpPipe:
    env = plugin_env(
        CLAUDE_PLUGIN_ROOT=str(layout.root),
        CLAUDE_PLUGIN_DATA=str(layout.data),
        MEMORY_HOME=str(daemon.home),
        MEMORY_SOCKET=str(daemon.socket),
    )
    return front(REPO, env)


def test_tools_at_once_and_calls_held_until_the_environment_is_ready(daemon: Daemon) -> None:
    layout = Layout.from_environ({"CLAUDE_PLUGIN_DATA": str(short_tmpdir("fd"))}, REPO)
    with build_running(layout):
        server = start_front(layout, daemon)
        # Claude Code's probe for the 2026 protocol: declined, it falls back to initialize.
        server.request("server-discover-probe-1", "server/discover", {})
        assert server.answer("server-discover-probe-1")["error"]["code"] == -32601
        result = server.initialize()
        assert result == {**ANSWERS["initialize"], "protocolVersion": "2025-11-25"}
        server.request(1, "tools/list")
        assert server.answer(1)["result"] == ANSWERS["lists"]["tools/list"]
        server.request(2, "tools/call", {**STORE, "_meta": {"progressToken": 2}})
        progress = server.receive()
        assert progress["method"] == "notifications/progress"
        assert "installing" in progress["params"]["message"]
        server.request(3, "ping")
        assert server.answer(3) == {"jsonrpc": "2.0", "id": 3, "result": {}}  # call 2 is held
        # The prompt hook's tool is never held (a prompt must not wait for the build): it
        # answers at once the hook JSON that adds nothing.
        server.request(5, "tools/call", PROMPT_HOOK)
        assert server.answer(5)["result"] == NOTHING
        ready_environment(layout)
    # The build is over: the real shim, in the new environment, answers the held call.
    stored = server.answer(2, timeout=90)["result"]
    assert stored["isError"] is False, stored
    memory_id = stored["structuredContent"]["id"]
    found = daemon.client().get(f"/api/memories/{memory_id}").json()
    assert found["content"] == STORE["arguments"]["content"]
    # From here on the front only copies lines: the shim answers everything.
    server.request(4, "tools/call", {"name": "memory_count", "arguments": {}})
    assert server.answer(4)["result"]["structuredContent"]["total"] >= 1
    assert server.close() == 0


def test_a_failed_build_is_told_to_the_tool_calls(daemon: Daemon) -> None:
    layout = Layout.from_environ({"CLAUDE_PLUGIN_DATA": str(short_tmpdir("fd"))}, REPO)
    retry = f"CLAUDE_PLUGIN_DATA={layout.data} python3 {REPO}/scripts/plugin_python.py --install"
    with build_running(layout):
        server = start_front(layout, daemon)
        server.initialize()
        server.request(1, "tools/call", STORE)
        server.request(2, "ping")
        server.answer(2)
        failure = "could not install the requirements (pip): `pip …` exited with 1 (log: x)"
        write_status(layout.status, BuildStatus(layout.version, FAILED, failure, retry))
    text = server.answer(1, timeout=30)["result"]["content"][0]["text"]
    assert text.startswith("memoryd is unavailable in this session: installing its environment")
    assert failure in text and retry in text and "next Claude Code session" in text
    # The prompt hook is told nothing of it: an error result is shown to the user at each
    # prompt, where the model's own call says it once.
    server.request(3, "tools/call", PROMPT_HOOK)
    assert server.answer(3)["result"] == NOTHING
    assert server.close() == 0
