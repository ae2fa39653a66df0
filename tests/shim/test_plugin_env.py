"""The plugin's environment (plugin_env/, scripts/plugin_python.py): builds that outlive the
session that started them, one at a time, started by the hooks too, and failures that say how
to retry. A fake plugin stands in for memoryd so that no build needs the network; the build of
memoryd's own environment from the package index runs through Claude Code in
test_claude_cli.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from plugin_env.build import BuildFailed, installers, pip_plan, pip_version, uv_plan
from plugin_env.layout import Layout
from tests.shim.plugin_helpers import (
    McpPipe,
    fake_package,
    fake_plugin,
    front,
    plugin_env,
    wait_for,
)
from tests.shim.test_tools import TOOLS
from tests.support import REPO, short_tmpdir

SCRIPT = REPO / "scripts" / "plugin_python.py"


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=plugin_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


class FakeBuild:
    """A fake plugin with a gated package, and the environment its build runs in."""

    def __init__(self, requirement: str | None = None) -> None:
        work = short_tmpdir("pb")
        package = fake_package(work / "pkg")
        self.root = fake_plugin(work / "root", requirement or f"fakeplug @ {package.as_uri()}")
        self.data = work / "data"
        self.building, self.gate = work / "building", work / "gate"
        self.plugin = {"CLAUDE_PLUGIN_ROOT": str(self.root), "CLAUDE_PLUGIN_DATA": str(self.data)}
        self.env = plugin_env(
            **self.plugin,
            PIP_NO_INDEX="1",
            MEMORYD_PLUGIN_INSTALLER="pip",
            FAKE_BUILDING=str(self.building),
            FAKE_GATE=str(self.gate),
        )
        self.layout = Layout.from_environ(self.plugin, self.root)

    @property
    def log(self) -> str:
        return self.layout.log.read_text() if self.layout.log.exists() else ""

    def ready(self) -> bool:
        return self.layout.ready()

    def status(self) -> dict[str, str]:
        result: dict[str, str] = json.loads(self.layout.status.read_text())
        return result


def test_hooks_never_wait_for_an_install() -> None:
    data = short_tmpdir("pd")
    started = time.monotonic()
    done = run("--if-ready", "-c", "print('ran')", CLAUDE_PLUGIN_DATA=str(data))
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert time.monotonic() - started < 2
    assert list(data.iterdir()) == []


def test_override_interpreter_runs_the_module_with_arguments() -> None:
    done = run(
        "-c",
        "import sys, mcp_shim; print(sys.argv[1:])",
        "a b",
        "c",
        MEMORYD_PLUGIN_PYTHON=sys.executable,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['a b', 'c']\n"
    shown = run("--print", MEMORYD_PLUGIN_PYTHON=sys.executable)
    assert shown.stdout == sys.executable + "\n"


def test_broken_plugin_root_says_so_on_stderr_only() -> None:
    root = short_tmpdir("pr")
    done = run("-m", "mcp_shim", CLAUDE_PLUGIN_ROOT=str(root), CLAUDE_PLUGIN_DATA=str(root / "d"))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("memoryd plugin: cannot read")
    assert str(Path(root) / ".claude-plugin" / "plugin.json") in done.stderr


def test_a_build_outlives_the_server_that_started_it() -> None:
    """Claude Code ends a session's MCP server, with its process group and every process
    below it, when the session ends (`claude -p` right after its answer). The front started
    the build; the build is in none of those and completes; the next start uses it."""
    fake = FakeBuild()
    server = front(fake.root, fake.env)
    # The tools are there at once, while the build has only just started.
    assert "tools" in server.initialize()["capabilities"]
    server.request(1, "tools/list")
    assert len(server.answer(1)["result"]["tools"]) == len(TOOLS)
    wait_for(fake.building.exists, 60, "pip to build the fake package")
    server.kill_tree()

    fake.gate.touch()
    wait_for(fake.ready, 60, f"the build to finish alone; log:\n{fake.log}")
    assert fake.status()["state"] == "ready"
    assert "(started by the MCP server)" in fake.log
    started = time.monotonic()
    done = run("-c", "import fakeplug; print(fakeplug.READY)", **fake.plugin)
    assert done.returncode == 0 and done.stdout == "installed\n", done.stderr
    assert time.monotonic() - started < 5  # the next session does not build again
    assert fake.log.count("--- installing") == 1
    assert not fake.layout.build_dir.exists()  # renamed into place


def test_two_sessions_never_build_the_same_environment_twice() -> None:
    fake = FakeBuild()
    starters = [
        subprocess.Popen(
            [sys.executable, str(fake.root / "scripts" / "plugin_python.py"), "--start"],
            env=fake.env,
        )
        for _ in range(4)
    ]
    assert [p.wait(30) for p in starters] == [0, 0, 0, 0]  # each returns at once
    wait_for(fake.building.exists, 60, "pip to build the fake package")
    # A session that wants the environment now waits for the running build, not a new one.
    waiter = subprocess.Popen(
        [sys.executable, str(fake.root / "scripts" / "plugin_python.py"), "-c", "import fakeplug"],
        env=fake.env,
        stderr=subprocess.PIPE,
    )
    fake.gate.touch()
    _, errors = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, errors
    assert fake.ready()
    assert fake.log.count("--- installing") == 1, fake.log


def test_the_first_session_hooks_start_the_build_and_say_nothing() -> None:
    fake = FakeBuild()
    fake.gate.touch()
    hook = [str(fake.root / "hooks" / "run-hook.sh")]
    (fake.root / "hooks").mkdir()
    (fake.root / "hooks" / "run-hook.sh").symlink_to(REPO / "hooks" / "run-hook.sh")
    for mode in ("stop", "tool-used", "pre-compact"):  # these wait for an environment
        done = subprocess.run(
            ["/bin/sh", *hook, mode], env=fake.env, input="{}", text=True, capture_output=True
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert not fake.data.exists()
    started = time.monotonic()
    done = subprocess.run(
        ["/bin/sh", *hook, "session-start"],
        env=fake.env,
        input="{}",
        text=True,
        capture_output=True,
    )
    took = time.monotonic() - started
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert took < 1.0, took  # ~5 ms on an idle machine: the build starts in the background
    wait_for(fake.ready, 60, f"the build the hook started; log:\n{fake.log}")
    assert "(started by a hook)" in fake.log


def test_a_failed_build_says_what_failed_and_the_next_session_retries() -> None:
    fake = FakeBuild(requirement="fakeplug-nowhere==1.0")  # no index: nothing provides it
    server = front(fake.root, fake.env)
    server.initialize()
    server.request(
        7,
        "tools/call",
        {"name": "memory_store", "arguments": {"content": "x", "expanded_keywords": "y"}},
    )
    result = server.answer(7, timeout=120)["result"]
    assert result["isError"] is True
    text = result["content"][0]["text"]
    assert "could not install the requirements (pip)" in text
    assert str(fake.layout.log) in text
    assert fake.status()["state"] == "failed"
    retry = fake.status()["retry"]
    assert retry in text and "--install" in retry
    # Later calls in the session get the same answer at once.
    server.request(8, "tools/call", {"name": "memory_count", "arguments": {}})
    assert server.answer(8, timeout=5)["result"]["content"][0]["text"] == text

    # The next session retries by itself (and fails again: still nothing provides it).
    again = front(fake.root, fake.env)
    again.initialize()
    wait_for(lambda: fake.log.count("--- failed") == 2, 120, "the second attempt")
    again.close()

    # The retry command, as given, builds once the cause is fixed; the session that failed
    # then serves its next call from the new environment.
    package = fake_package(fake.root.parent / "pkg2")
    fake.layout.requirements.write_text(f"fakeplug @ {package.as_uri()}\n")
    fake.gate.touch()
    done = subprocess.run(
        ["/bin/sh", "-c", retry], env=fake.env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "environment ready" in done.stderr and fake.ready()
    server.request(9, "tools/call", {"name": "memory_count", "arguments": {}})
    assert server.answer(9, timeout=30)["result"]["content"][0]["text"] == "fake shim: tools/call"
    assert server.close() == 0


def test_installers_and_their_steps() -> None:
    assert installers(None, "/bin/uv") == ["uv", "pip"]  # pip if uv fails (pip.conf indexes)
    assert installers(None, None) == ["pip"]
    assert installers("pip", "/bin/uv") == ["pip"]
    for bad in (("uv", None), ("conda", "/bin/uv")):
        try:
            installers(*bad)
        except BuildFailed as exc:
            assert "MEMORYD_PLUGIN_INSTALLER" in str(exc)
        else:
            raise AssertionError(bad)
    target, reqs = Path("/d/build-1"), Path("/p/requirements.txt")
    [venv, install] = uv_plan("/bin/uv", "/py3.12", target, reqs)
    assert venv.argv == ("/bin/uv", "venv", "--python", "/py3.12", "/d/build-1")
    assert install.argv[:5] == ("/bin/uv", "pip", "install", "--python", "/d/build-1/bin/python")
    # A pip with --python (22.3+) installs into a venv made without pip (ensurepip is slow).
    [venv, install] = pip_plan("/py3.12", (23, 2), target, reqs)
    assert venv.argv[-2:] == ("--without-pip", "/d/build-1")
    assert install.argv[:5] == ("/py3.12", "-m", "pip", "--python", "/d/build-1/bin/python")
    assert "--no-compile" in install.argv
    [venv, install] = pip_plan("/py3.12", (21, 1), target, reqs)
    assert "--without-pip" not in venv.argv and install.argv[0] == "/d/build-1/bin/python"
    assert pip_version("pip 23.2.1 from /x (python 3.11)") == (23, 2)
    assert pip_version("") is None


def test_a_server_started_while_ready_is_the_shim_itself() -> None:
    """Later sessions: no front in between (the shim replaces the launcher)."""
    fake = FakeBuild()
    fake.gate.touch()
    install = [sys.executable, str(fake.root / "scripts" / "plugin_python.py"), "--install"]
    assert subprocess.run(install, env=fake.env, capture_output=True, timeout=120).returncode == 0
    # The environment runs the plugin directory's code: another checkout of the same version
    # (claude --plugin-dir elsewhere, same plugin data) does not count it as its own.
    other = shutil.copytree(fake.root, fake.root.parent / "other", symlinks=True)
    moved = {**fake.plugin, "CLAUDE_PLUGIN_ROOT": str(other)}
    assert fake.ready() and not Layout.from_environ(moved, other).ready()
    # Started in a directory with an mcp_shim package of its own (this checkout), which the
    # plugin's must not be shadowed by.
    launched = McpPipe(
        [sys.executable, str(fake.root / "scripts" / "mcp_front.py")], fake.env, cwd=REPO
    )
    cmdline = Path(f"/proc/{launched.proc.pid}/cmdline")
    wait_for(lambda: b"mcp_shim" in cmdline.read_bytes(), 10, "the exec")
    python = str(fake.layout.python).encode()
    assert cmdline.read_bytes().split(b"\0")[:4] == [python, b"-P", b"-m", b"mcp_shim"]
    assert launched.close() == 0


def test_a_shim_that_dies_at_start_is_told_to_the_held_calls() -> None:
    """The build succeeds, but the server in the new environment exits before answering
    (a broken install, a crash on import): held calls get an answer, not silence."""
    fake = FakeBuild()
    fake.gate.touch()
    broken = "import sys\nsys.exit('mcp_shim: broken on purpose')\n"
    (fake.root / "mcp_shim" / "__main__.py").write_text(broken)
    server = front(fake.root, fake.env)
    server.initialize()
    server.request(1, "tools/call", {"name": "memory_count", "arguments": {}})
    text = server.answer(1, timeout=120)["result"]["content"][0]["text"]
    assert text.startswith("memoryd is unavailable: its MCP server did not start")
    assert "exited with status 1 before answering initialize" in text
    server.request(2, "tools/call", {"name": "memory_count", "arguments": {}})
    assert server.answer(2, timeout=10)["result"]["content"][0]["text"] == text
    assert server.close() == 0
