"""The hook script (hooks/memory_hook.py, run as Claude Code runs it: a process, the event on
stdin) with stdin no Claude Code would write, in every mode, against a real daemon: it exits 0,
prints nothing or one valid hook answer, and is done within its time budget."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.adversarial.daemons import LoggedDaemon, logged_daemon
from tests.hooks.helpers import HOOK, hook_env

MODES = ("prompt", "session-start", "pre-compact", "stop", "tool-used", "approve", "no-such-mode")
# Claude Code's hook timeout is 5 s (hooks.json); the hook's own is 0.5 s for the daemon, plus
# an interpreter's start on a busy machine.
BUDGET_S = 4.0
# What Claude Code reads from a hook's stdout.
HOOK_KEYS = {
    "continue",
    "suppressOutput",
    "stopReason",
    "decision",
    "reason",
    "systemMessage",
    "hookSpecificOutput",
}

EVENT = {
    "session_id": "hostile",
    "cwd": "/tmp",
    "hook_event_name": "UserPromptSubmit",
    "prompt": "where does the staging cluster run",
    "tool_name": "mcp__memory__memory_recall",
}
STDIN: dict[str, bytes] = {
    "empty": b"",
    "not-json": b"this is not json at all",
    "truncated": json.dumps(EVENT).encode()[:40],
    "array": b'[{"session_id": "hostile"}]',
    "string": b'"session_id"',
    "null": b"null",
    "wrong-types": b'{"session_id": 5, "prompt": [], "cwd": {}, "tool_name": 7, "source": null}',
    "nul-bytes": b'{"session_id": "a\x00b", "prompt": "x\x00y"}\x00\x00',
    "escaped-nul": json.dumps({**EVENT, "prompt": "a\u0000b"}).encode(),
    "lone-surrogate": b'{"session_id": "s", "prompt": "half an emoji \\ud83d", "cwd": "/tmp"}',
    "invalid-utf8": b'{"session_id": "s", "prompt": "\xff\xfe\xed\xa0\x80"}',
    "deep": b'{"session_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "huge-int": b'{"session_id": "s", "budget": ' + b"9" * 5000 + b"}",
    "huge": json.dumps({**EVENT, "prompt": "x" * (17 * 1024 * 1024)}).encode(),
}


@pytest.fixture(scope="module")
def daemon() -> Iterator[LoggedDaemon]:
    with logged_daemon() as running:
        stored = running.client().post(
            "/api/memories", json={"content": "The staging cluster runs in eu-west-1"}
        )
        assert stored.status_code == 201
        yield running


def run_hook(mode: str, stdin: bytes, env: dict[str, str]) -> tuple[int, bytes, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-S", str(HOOK), mode],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=30,
        check=False,
    )
    return done.returncode, done.stdout, time.monotonic() - started


def hook_answer_problems(stdout: bytes) -> list[str]:
    if not stdout:
        return []
    try:
        answer: Any = json.loads(stdout)
    except ValueError:
        return [f"stdout is not JSON: {stdout[:200]!r}"]
    if not isinstance(answer, dict) or not answer or not set(answer) <= HOOK_KEYS:
        return [f"stdout is not a hook answer: {stdout[:200]!r}"]
    specific = answer.get("hookSpecificOutput")
    if specific is not None and not (
        isinstance(specific, dict) and isinstance(specific.get("hookEventName"), str)
    ):
        return [f"hookSpecificOutput without its hookEventName: {stdout[:200]!r}"]
    return []


@pytest.mark.parametrize("stdin", list(STDIN))
@pytest.mark.parametrize("mode", MODES)
def test_malformed_stdin_exits_0_quickly_with_nothing_or_a_hook_answer(
    daemon: LoggedDaemon, mode: str, stdin: str
) -> None:
    env = hook_env(daemon.socket, daemon.home)
    code, stdout, seconds = run_hook(mode, STDIN[stdin], env)
    assert code == 0
    assert not hook_answer_problems(stdout)
    assert seconds < BUDGET_S, f"{mode} took {seconds:.1f} s"


def test_a_valid_event_gets_a_hook_answer_from_the_same_daemon(daemon: LoggedDaemon) -> None:
    """The control: the hook does reach this daemon and print, so silence above is a choice."""
    env = hook_env(daemon.socket, daemon.home)
    code, stdout, _ = run_hook("prompt", json.dumps(EVENT).encode(), env)
    assert code == 0 and stdout and not hook_answer_problems(stdout)
    assert b"eu-west-1" in stdout
