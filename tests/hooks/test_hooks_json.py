"""hooks/hooks.json: the prompt hook calls the session's MCP shim (an `mcp_tool` hook), every
other handler runs our script through the plugin's interpreter scheme, and the tool matchers
(unanchored JavaScript regular expressions in Claude Code; these patterns mean the same in
Python) catch our tools under both server names and nothing else."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO

HOOKS: dict[str, list[dict[str, Any]]] = json.loads((REPO / "hooks" / "hooks.json").read_text())[
    "hooks"
]
FORMS = ["mcp__plugin_memoryd_memory__{}", "mcp__memory__{}"]


def matcher(event: str) -> re.Pattern[str]:
    """The matcher of our memory tools (the auto-memory mirror's, on Write/Edit, aside)."""
    [group] = [g for g in HOOKS[event] if g["hooks"][0]["args"][-1] != "auto-memory"]
    return re.compile(group["matcher"])


def test_the_prompt_hook_calls_the_sessions_shim() -> None:
    """UserPromptSubmit starts no process: Claude Code calls the plugin's own MCP server, already
    running, with the event's fields (mcp_shim/prompt_hook.py reads these three)."""
    [group] = HOOKS["UserPromptSubmit"]
    assert group["hooks"] == [
        {
            "type": "mcp_tool",
            # Plugin `memoryd` (plugin.json), server `memory` (.mcp.json).
            "server": "plugin:memoryd:memory",
            "tool": "memory_prompt_context",
            "input": {"prompt": "${prompt}", "session_id": "${session_id}", "cwd": "${cwd}"},
            "timeout": 5,
        }
    ]
    plugin = json.loads((REPO / ".claude-plugin" / "plugin.json").read_text())
    servers = json.loads((REPO / ".mcp.json").read_text())["mcpServers"]
    assert plugin["name"] == "memoryd" and list(servers) == ["memory"]


def test_every_other_handler_runs_the_hook_through_run_hook_sh() -> None:
    modes = set()
    for event, groups in HOOKS.items():
        if event == "UserPromptSubmit":
            continue
        for group in groups:
            for handler in group["hooks"]:
                assert handler["type"] == "command" and handler["command"] == "/bin/sh"
                assert handler["timeout"] <= 5 and "async" not in handler
                script, mode = handler["args"]
                assert script == "${CLAUDE_PLUGIN_ROOT}/hooks/run-hook.sh"
                modes.add(mode)
    assert modes == {
        "session-start",
        "pre-compact",
        "stop",
        "tool-used",
        "approve",
        "auto-memory",
    }


def run_sh(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    event = {"hook_event_name": "PreToolUse", "tool_name": "mcp__memory__memory_recall"}
    return subprocess.run(
        ["/bin/sh", str(REPO / "hooks" / "run-hook.sh"), "approve"],
        input=json.dumps(event),
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
    )


def test_run_hook_sh_uses_the_plugin_venv(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY", "CLAUDE"))}
    env = {**base, "CLAUDE_PLUGIN_ROOT": str(REPO), "CLAUDE_PLUGIN_DATA": str(tmp_path)}
    # The first session: no venv yet (plugin_env is building it). Approving needs no
    # dependency, so python3 from PATH decides.
    out = json.loads(run_sh(env).stdout)
    assert out["hookSpecificOutput"]["permissionDecision"] == "allow"
    # Once plugin_env has built venv-<version> (a stamp says so), the hook runs on its python;
    # a venv without the stamp (a build under way) is not used.
    python = tmp_path / "venv-0.1.0" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/sh\necho "venv python: $*"\n')
    python.chmod(0o755)
    assert json.loads(run_sh(env).stdout)["hookSpecificOutput"]["permissionDecision"] == "allow"
    (tmp_path / "venv-0.1.0" / ".memoryd-plugin-version").write_text("0.1.0 0123\n")
    hook = REPO / "hooks" / "memory_hook.py"
    assert run_sh(env).stdout == f"venv python: -S {hook} approve\n"


@pytest.mark.parametrize("form", FORMS)
def test_tool_matchers_catch_our_tools_under_both_names(form: str) -> None:
    for event in ("PreToolUse", "PermissionRequest"):
        for tool in ("memory_recall", "memory_store", "memory_delete", "secret_get"):
            assert matcher(event).search(form.format(tool)), (event, tool)
    for tool in ("memory_recall", "memory_list", "memory_store", "memory_update"):
        assert matcher("PostToolUse").search(form.format(tool))
    assert not matcher("PostToolUse").search(form.format("memory_delete"))


@pytest.mark.parametrize(
    "name", ["Bash", "mcp__github__memory_store", "mcp__plugin_x_memory__memory_recall"]
)
def test_tool_matchers_leave_other_tools_alone(name: str) -> None:
    for event in ("PreToolUse", "PermissionRequest", "PostToolUse"):
        assert not matcher(event).search(name)
