"""`memory hooks install|uninstall`, `memory learned` and the auto-learn line of `memory status`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hooks.helpers import HOOK, for_daemon, prompt_event
from tests.support import Daemon, running_daemon


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    with running_daemon(MEMORY_AUTO_LEARN="0") as running:
        yield running


def memory(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memoryd.cli.memory_cmd", *args],
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_hooks_install_merges_into_settings_and_uninstall_removes_only_ours(
    daemon: Daemon, tmp_path: Path
) -> None:
    path = tmp_path / "settings.json"
    theirs = {"matcher": "Bash", "hooks": [{"type": "command", "command": "/usr/bin/true"}]}
    path.write_text(json.dumps({"model": "opus", "hooks": {"PreToolUse": [theirs]}}))
    for _ in range(2):  # idempotent
        done = memory(daemon, "hooks", "install", "--settings", str(path))
        assert done.returncode == 0, done.stderr
    data = json.loads(path.read_text())
    assert data["model"] == "opus"
    hooks = data["hooks"]
    assert hooks["PreToolUse"][0] == theirs and len(hooks["PreToolUse"]) == 2
    for event in ("SessionStart", "UserPromptSubmit", "PreCompact", "Stop", "PostToolUse"):
        assert len(hooks[event]) == 1, event
    handler = hooks["UserPromptSubmit"][0]["hooks"][0]
    assert handler["command"] == sys.executable and Path(handler["command"]).is_absolute()
    assert handler["args"] == ["-S", str(HOOK), "prompt"]
    assert hooks["Stop"][0]["hooks"][0]["args"] == ["-S", str(HOOK), "stop"]

    # The installed command really works: run it as Claude Code would.
    daemon.client().post("/api/memories", json={"content": "Invoices are rendered with Typst"})
    run = subprocess.run(
        [handler["command"], *handler["args"]],
        input=json.dumps(prompt_event("s-cli", "how are the invoices rendered", "/tmp")),
        env=for_daemon(daemon),
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert "Typst" in json.loads(run.stdout)["hookSpecificOutput"]["additionalContext"]

    done = memory(daemon, "hooks", "uninstall", "--settings", str(path))
    assert done.returncode == 0 and "Removed 7" in done.stdout
    assert json.loads(path.read_text()) == {"model": "opus", "hooks": {"PreToolUse": [theirs]}}


def test_hooks_install_refuses_a_broken_settings_file(daemon: Daemon, tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    done = memory(daemon, "hooks", "install", "--settings", str(path))
    assert done.returncode == 1 and "not valid JSON" in done.stderr
    assert path.read_text() == "{not json"


def test_learned_and_status_say_why_learning_is_off(daemon: Daemon) -> None:
    done = memory(daemon, "learned")
    assert done.returncode == 0, done.stderr
    assert "auto-learn off: MEMORY_AUTO_LEARN=0" in done.stdout
    assert "Nothing learned yet." in done.stdout
    status = memory(daemon, "status")
    assert "auto-learn off: MEMORY_AUTO_LEARN=0" in status.stdout
    undo = memory(daemon, "learned", "--undo", "999")
    assert undo.returncode == 1 and "no auto-learned entry 999" in undo.stderr
