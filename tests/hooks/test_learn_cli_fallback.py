"""Without ANTHROPIC_API_KEY, auto-learn asks the `claude` CLI (`claude -p --json-schema`) with
hooks disabled for that call. Real Claude Code CLI, logged in through an apiKeyHelper, against
the local fake Messages API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hooks.fake_anthropic import FakeAnthropic, fake_anthropic
from tests.hooks.helpers import for_daemon, run_hook
from tests.support import CLAUDE_CLI, Daemon, daemon_env, short_tmpdir

pytestmark = pytest.mark.requires_claude_cli


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    def judge(text: str) -> dict[str, Any]:
        if "tabs" not in text:
            return {"lessons": []}
        return {
            "lessons": [
                {
                    "kind": "preference",
                    "content": "The user indents Go code with tabs, never spaces",
                    "reason": "the user insisted on tabs",
                    "importance": 0.6,
                    "keywords": "indentation formatting gofmt whitespace style",
                    "action": "new",
                    "existing_id": None,
                }
            ]
        }

    with fake_anthropic(FakeAnthropic(on_structured=judge)) as running:
        yield running


@pytest.fixture
def daemon(fake: FakeAnthropic) -> Iterator[Daemon]:
    home = short_tmpdir("lc")
    user_home = home / "user"
    marker = home / "hook-ran"
    # A logged-in Claude Code user (apiKeyHelper), with a user-level hook that must NOT run
    # during the judge's call.
    settings = {
        "apiKeyHelper": "echo sk-fake-helper",
        "hooks": {
            "UserPromptSubmit": [{"hooks": [{"type": "command", "command": f"touch {marker}"}]}]
        },
    }
    (user_home / ".claude").mkdir(parents=True)
    (user_home / ".claude" / "settings.json").write_text(json.dumps(settings))
    env = daemon_env(home, MEMORY_LEARN_CLAUDE_BIN=str(CLAUDE_CLI), ANTHROPIC_BASE_URL=fake.url)
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDECODE"):
        env.pop(name, None)
    env.update(HOME=str(user_home), DISABLE_AUTOUPDATER="1")
    daemon = Daemon(home, env).start()
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.mark.slow
def test_learning_falls_back_to_claude_p_with_hooks_disabled(
    daemon: Daemon, fake: FakeAnthropic, tmp_path: Path
) -> None:
    state = daemon.client().get("/api/learn/status").json()
    assert state["enabled"] is True and state["backend"] == "cli", state
    transcript = tmp_path / "t.jsonl"
    entry = {"type": "user", "message": {"role": "user", "content": "we use tabs in Go, always"}}
    transcript.write_text(json.dumps(entry) + "\n")
    event = {"session_id": "cli-1", "transcript_path": str(transcript), "cwd": str(tmp_path)}
    run = run_hook("stop", event, for_daemon(daemon))
    assert run.returncode == 0 and run.stdout == ""

    deadline = time.monotonic() + 60
    hits: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not hits:
        hits = (
            daemon.client()
            .post("/api/memories/recall", json={"context": "tabs indentation go"})
            .json()["memories"]
        )
        time.sleep(0.2)
    assert hits and hits[0]["source"] == "auto-learn", (
        daemon.client().get("/api/learn/status").json()
    )
    # The judge used --json-schema (the StructuredOutput tool) and saw the conversation.
    structured = [
        b
        for b in fake.requests
        if any(t.get("name") == "StructuredOutput" for t in b.get("tools", []))
    ]
    assert structured and "we use tabs in Go" in json.dumps(structured[0])
    assert not (daemon.home / "hook-ran").exists()  # hooks were off for the judge's call
