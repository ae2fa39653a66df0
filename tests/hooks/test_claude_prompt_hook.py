"""The plugin's prompt hook with the real Claude Code CLI (pinned in .ci/claude-code): an
`mcp_tool` hook that calls the session's MCP shim, against the fake Messages API and a real
daemon. The memory it recalls reaches the model's first request, and the prompt arrives
whole, whatever it holds.

Marked `requires_claude_cli`: without the CLI this module skips, saying so (tests/conftest.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.hooks.claude_cli import claude_env, run_claude
from tests.hooks.fake_anthropic import FakeAnthropic, fake_anthropic
from tests.support import Daemon, running_daemon, short_tmpdir

pytestmark = pytest.mark.requires_claude_cli

# Quotes, backslashes, a newline and non-ASCII: `${prompt}` is substituted into the tool's
# input, and must arrive as the user typed it.
PROMPT = (
    'Where does the "orders" staging cluster run? Logs under C:\\orders\\x and \\n here,\n'
    "then: ünïcødé 日本 — ingress-nginx"
)


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with fake_anthropic(FakeAnthropic()) as running:
        yield running


@pytest.fixture
def daemon(fake: FakeAnthropic) -> Iterator[Daemon]:
    with running_daemon(MEMORY_AUTO_LEARN="0", **fake.daemon_env()) as d:
        yield d


@pytest.mark.slow
def test_the_mcp_tool_prompt_hook_brings_a_memory_to_the_first_request(
    daemon: Daemon, fake: FakeAnthropic
) -> None:
    # Another project's memory: not in this project's SessionStart profile (empty here), so
    # only the prompt hook can bring it.
    stored = daemon.client().post(
        "/api/memories",
        json={
            "content": "The orders staging cluster runs in eu-west-1 behind ingress-nginx",
            "category": "facts",
            "project": "billing-api",
            "expanded_keywords": "kubernetes deploy region",
        },
    )
    memory_id = stored.json()["id"]
    home = short_tmpdir("cc")
    project = home / "proj"
    project.mkdir()
    done = run_claude(
        PROMPT, "--output-format", "json", env=claude_env(home, daemon, fake), cwd=project
    )
    result = json.loads(done.stdout)
    assert result["is_error"] is False

    [first, *_] = [b for b in fake.requests if not (b.get("output_config") or {}).get("format")]
    text = json.dumps(first, ensure_ascii=False)
    assert "eu-west-1" in text and memory_id in text
    hook = "UserPromptSubmit hook additional context: memoryd: memories relevant to this prompt"
    assert memory_id in text[text.index(hook) :]

    # The daemon got the prompt whole (the journal keeps its start, whitespace folded) and
    # the session's id and directory: the prompt's row names the project SessionStart's does.
    events = daemon.client().get(f"/api/sessions/{result['session_id']}").json()["events"]
    by_hook = {event["hook"]: event for event in events}
    assert by_hook["prompt"]["prompt"] == " ".join(PROMPT.split())[:120]
    assert by_hook["prompt"]["project"] == project.name
    assert [i["id"] for i in by_hook["prompt"]["items"] if i["outcome"] == "injected"] == [
        memory_id
    ]
