"""Driving the real Claude Code CLI against the fake Messages API: its environment (this
machine's own Claude, memoryd and Anthropic settings left out) and the tools the fake model
has already had answered."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.hooks.fake_anthropic import FakeAnthropic
from tests.support import CLAUDE_CLI, REPO, Daemon


def answered_tools(body: dict[str, Any]) -> set[Any]:
    """The tool_use ids that a Messages request already carries results for."""
    return {
        block.get("tool_use_id")
        for message in body["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    }


def claude_env(home: Path, daemon: Daemon, fake: FakeAnthropic, **extra: str) -> dict[str, str]:
    """`claude -p`'s environment: HOME in a scratch directory, the plugin talking to `daemon`
    from this interpreter's venv (already built), the model at `fake`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEMORY_", "CLAUDE", "ANTHROPIC", "MEMORYD_PLUGIN", "DEBUG_"))
    }
    env.pop("XDG_RUNTIME_DIR", None)
    env.update(
        HOME=str(home),
        MEMORY_HOME=str(daemon.home),
        MEMORY_SOCKET=str(daemon.socket),
        MEMORYD_PLUGIN_PYTHON=sys.executable,
        ANTHROPIC_API_KEY="sk-fake",
        ANTHROPIC_BASE_URL=fake.url,
        ENABLE_TOOL_SEARCH="false",
        DISABLE_AUTOUPDATER="1",
        **extra,
    )
    return env


def run_claude(
    prompt: str, *flags: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`claude -p PROMPT` with this repository's plugin loaded; fails the test unless it exits 0."""
    done = subprocess.run(
        [str(CLAUDE_CLI), "-p", prompt, "--plugin-dir", str(REPO), *flags],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done
