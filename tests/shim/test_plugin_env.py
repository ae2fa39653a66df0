"""scripts/plugin_python.py paths that need no install (the install itself is exercised through
Claude Code in test_claude_cli.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support import REPO, short_tmpdir

SCRIPT = REPO / "scripts" / "plugin_python.py"


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_", "MEMORYD_"))}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


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
