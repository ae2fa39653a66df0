"""End to end with the real Claude Code CLI (pinned in .ci/claude-code): `claude -p` with the
plugin loaded, against the local fake Messages API. The hooks fire (recall injects, the memory
tool is auto-approved and called, Stop hands the transcript to the daemon which judges it).

Marked `requires_claude_cli`: without the CLI this module skips, saying so (tests/conftest.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.hooks.claude_cli import answered_tools, claude_env, run_claude
from tests.hooks.fake_anthropic import FakeAnthropic, fake_anthropic
from tests.support import Daemon, running_daemon, short_tmpdir, wait_until

pytestmark = pytest.mark.requires_claude_cli

RECALL_TOOL = "mcp__plugin_memoryd_memory__memory_recall"


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    def call_recall(body: dict[str, Any]) -> tuple[str, dict[str, Any], str] | None:
        answered = answered_tools(body)
        names = {t.get("name") for t in body.get("tools", [])}
        if "toolu_recall" in answered:
            return None
        if RECALL_TOOL in names:
            query = {"context": "frontend dashboard", "expanded_query": "framework ui svelte"}
            return RECALL_TOOL, query, "toolu_recall"
        # Claude Code connects MCP servers in the background; the model is told to wait.
        if "WaitForMcpServers" in names and "toolu_wait" not in answered:
            return "WaitForMcpServers", {}, "toolu_wait"
        return None

    def judge(text: str) -> dict[str, Any]:
        lessons = []
        if "always use Tailwind" in text:
            lessons.append(
                {
                    "kind": "preference",
                    "content": "The user always uses Tailwind CSS for styling dashboards",
                    "reason": "the user said: always use Tailwind",
                    "importance": 0.7,
                    "keywords": "css styling tailwind utility classes frontend",
                    "action": "new",
                    "existing_id": None,
                }
            )
        return {"lessons": lessons}

    with fake_anthropic(FakeAnthropic(on_structured=judge, on_tools=call_recall)) as running:
        yield running


@pytest.fixture
def daemon(fake: FakeAnthropic) -> Iterator[Daemon]:
    with running_daemon(**fake.daemon_env()) as d:
        yield d


@pytest.mark.slow
def test_claude_p_with_the_plugin_recalls_approves_and_learns(
    daemon: Daemon, fake: FakeAnthropic
) -> None:
    svelte = (
        daemon.client()
        .post(
            "/api/memories",
            json={
                "content": "The user prefers SvelteKit for new frontend dashboards",
                "category": "preferences",
                "expanded_keywords": "javascript framework ui",
            },
        )
        .json()["id"]
    )
    home = short_tmpdir("cc")
    project = home / "proj"
    project.mkdir()
    env = claude_env(home, daemon, fake, DEBUG_CLAUDE_MEMORY_HOOKS="1")
    done = run_claude(
        "Build a frontend dashboard for the orders. Also: always use Tailwind for styling.",
        "--output-format",
        "json",
        env=env,
        cwd=project,
    )
    result = json.loads(done.stdout)
    assert result["is_error"] is False and result["result"] == "FAKE-ANSWER done"

    agent = [b for b in fake.requests if not (b.get("output_config") or {}).get("format")]
    first = json.dumps(agent[0])
    # UserPromptSubmit (or the SessionStart digest) injected the stored memory, with its id.
    assert "SvelteKit" in first and svelte in first
    # PreToolUse auto-approved the recall tool (in -p an unapproved tool is denied), and the
    # shim answered it from the daemon.
    results = [
        block
        for body in agent[1:]
        for message in body["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result" and block.get("tool_use_id") == "toolu_recall"
    ]
    assert results, "the recall tool was never answered"
    assert not results[0].get("is_error"), results[0]
    assert "SvelteKit" in json.dumps(results[0]["content"])
    log = (daemon.home / "logs" / "hooks.log").read_text()
    # The prompt hook is no process (an `mcp_tool` hook through the shim: test_claude_prompt_hook).
    for mode in ("session-start", "approve", "tool-used", "stop"):
        assert f" {mode}: " in log, (mode, log)

    # Stop handed the transcript to the daemon, which judged it and learned the preference.
    def learned() -> bool:
        hits = (
            daemon.client()
            .post("/api/memories/recall", json={"context": "tailwind styling"})
            .json()["memories"]
        )
        return any(m["source"] == "auto-learn" for m in hits)

    wait_until(learned, 20, "the daemon to learn the Tailwind preference", interval=0.1)
