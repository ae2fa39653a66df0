"""The auto-memory mirror with the real Claude Code CLI: `claude -p` with the plugin loaded,
the (fake) model writing Claude Code's own MEMORY.md with the Write tool; the plugin's
PreToolUse hook stores that note in memoryd, and the file is still written.

Marked `requires_claude_cli`: without the CLI this module skips, saying so (tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from memoryd.automem import encode_project_path
from tests.hooks.claude_cli import answered_tools, claude_env, run_claude
from tests.hooks.fake_anthropic import FakeAnthropic, fake_anthropic
from tests.support import running_daemon, short_tmpdir

pytestmark = pytest.mark.requires_claude_cli

NOTE = "- The orders dashboard polls the API every 30 seconds.\n"


@pytest.mark.slow
def test_claude_writing_its_auto_memory_is_mirrored_into_memoryd() -> None:
    home = short_tmpdir("cc")
    project = home / "orders-ui"
    (project / ".git").mkdir(parents=True)
    memory_md = home / ".claude" / "projects" / encode_project_path(project) / "memory"
    memory_md = memory_md / "MEMORY.md"

    def write_note(body: dict[str, Any]) -> tuple[str, dict[str, Any], str] | None:
        answered = answered_tools(body)
        if "toolu_write" in answered:
            return None
        return "Write", {"file_path": str(memory_md), "content": NOTE}, "toolu_write"

    with (
        fake_anthropic(FakeAnthropic(on_tools=write_note)) as fake,
        running_daemon() as daemon,
    ):
        run_claude(
            "Remember how the dashboard refreshes.",
            "--permission-mode",
            "acceptEdits",
            env=claude_env(home, daemon, fake),
            cwd=project,
        )
        stored = daemon.client().get("/api/memories").json()["memories"]
    assert memory_md.read_text() == NOTE  # Claude Code's own write went ahead
    assert [(m["content"], m["project"]) for m in stored] == [
        ("The orders dashboard polls the API every 30 seconds.", "orders-ui")
    ]
