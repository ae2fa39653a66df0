"""hooks/hooks.json: every handler runs our script through the plugin's interpreter scheme, and
the tool matchers (unanchored JavaScript regular expressions in Claude Code; these patterns
mean the same in Python) catch our tools under both server names and nothing else."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.support import REPO

HOOKS: dict[str, list[dict[str, Any]]] = json.loads((REPO / "hooks" / "hooks.json").read_text())[
    "hooks"
]
FORMS = ["mcp__plugin_memoryd_memory__{}", "mcp__memory__{}"]


def matcher(event: str) -> re.Pattern[str]:
    [group] = HOOKS[event]
    return re.compile(group["matcher"])


def test_every_handler_runs_the_hook_through_the_plugin_python() -> None:
    modes = set()
    for groups in HOOKS.values():
        for group in groups:
            for handler in group["hooks"]:
                assert handler["type"] == "command" and handler["command"] == "python3"
                assert handler["timeout"] <= 5 and "async" not in handler
                args = handler["args"]
                assert args[:4] == [
                    "-S",
                    "${CLAUDE_PLUGIN_ROOT}/scripts/plugin_python.py",
                    "--if-ready",
                    "-S",
                ]
                assert args[4] == "${CLAUDE_PLUGIN_ROOT}/hooks/memory_hook.py"
                modes.add(args[5])
    assert modes == {"session-start", "prompt", "pre-compact", "stop", "tool-used", "approve"}
    assert (REPO / "scripts" / "plugin_python.py").is_file()


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
