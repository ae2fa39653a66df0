"""Auto-approve decisions for every tool-name form, and fail-open when the daemon is away."""

from __future__ import annotations

import asyncio
import json
import socket
import socketserver
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_shim.server import create_server
from mcp_shim.tool_base import ShimState
from tests.hooks.helpers import (
    HOOK,
    hook_env,
    load_hook,
    pre_compact_event,
    prompt_event,
    run_hook,
    session_start_event,
    tool_event,
)
from tests.support import short_tmpdir

# The plugin-scoped names (plugin `memoryd`, server `memory`) and the manual server name.
FORMS = ["mcp__plugin_memoryd_memory__{}", "mcp__memory__{}"]
GUARDED = ["memory_delete", "secret_get"]  # they delete, or reveal a secret
# The shim's tools, and the hook's list of those it approves (only reading or adding):
# test_each_tool_the_shim_serves_is_approved_guarded_or_asked_about pins the list.
SERVED = sorted(
    tool.name for tool in asyncio.run(create_server(lambda: ShimState(None, None)).list_tools())
)
SAFE = sorted(load_hook().SAFE_TOOLS)
# They hand memories to other users: asked about always.
SHARING = [name for name in SERVED if "share" in name]


def test_each_tool_the_shim_serves_is_approved_guarded_or_asked_about() -> None:
    """A tool added to the shim must be sorted into one of the three on purpose."""
    assert len(SHARING) == 6
    assert set(SAFE) == set(SERVED) - set(GUARDED) - set(SHARING)
    assert set(GUARDED) == load_hook().GUARDED_TOOLS


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    # No daemon needed: approval is decided in the hook itself.
    return hook_env(tmp_path / "no.sock", tmp_path)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("tool", SAFE)
def test_read_and_add_tools_are_allowed(env: dict[str, str], form: str, tool: str) -> None:
    name = form.format(tool)
    pre = run_hook("approve", tool_event("PreToolUse", name), env).output()
    assert pre == {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "permissionDecisionReason": f"memoryd: {tool} only reads or adds memories",
        }
    }
    req = run_hook("approve", tool_event("PermissionRequest", name), env).output()
    assert req == {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "allow"},
        }
    }


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("tool", GUARDED)
def test_delete_and_secret_get_still_ask(env: dict[str, str], form: str, tool: str) -> None:
    name = form.format(tool)
    for event in ("PreToolUse", "PermissionRequest"):
        run = run_hook("approve", tool_event(event, name), env)
        assert run.returncode == 0 and run.stdout == ""  # no decision: Claude Code asks
    env["MEMORY_AUTO_APPROVE_ALL"] = "1"
    out = run_hook("approve", tool_event("PermissionRequest", name), env).output()
    assert out is not None and out["hookSpecificOutput"]["decision"]["behavior"] == "allow"


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("tool", SHARING)
def test_sharing_tools_always_ask(env: dict[str, str], form: str, tool: str) -> None:
    env["MEMORY_AUTO_APPROVE_ALL"] = "1"
    for event in ("PreToolUse", "PermissionRequest"):
        run = run_hook("approve", tool_event(event, form.format(tool)), env)
        assert run.returncode == 0 and run.stdout == ""


@pytest.mark.parametrize(
    "name",
    [
        "Bash",
        "Edit",
        "mcp__github__memory_store",  # someone else's server with a look-alike tool
        "mcp__plugin_other_tools__memory_recall",
        "mcp__plugin_other_memory__memory_store",  # another plugin's server named `memory`
        "mcp__plugin_evil_memoryd__memory_recall",
        "mcp__plugin_memoryd_memory_x__memory_list",
        "mcp__memory__unknown_tool",
        "mcp__memory",
        "memory_store",
    ],
)
def test_other_tools_are_never_touched(env: dict[str, str], name: str) -> None:
    for event in ("PreToolUse", "PermissionRequest"):
        run = run_hook("approve", tool_event(event, name), env)
        assert run.returncode == 0 and run.stdout == ""


def test_auto_approve_can_be_turned_off(env: dict[str, str]) -> None:
    env["DISABLE_CLAUDE_MEMORY_AUTO_APPROVE"] = "1"
    run = run_hook("approve", tool_event("PreToolUse", "mcp__memory__memory_recall"), env)
    assert run.returncode == 0 and run.stdout == ""


EVENTS = [
    ("prompt", prompt_event("s-down", "build the frontend dashboard for orders", "/tmp")),
    ("session-start", session_start_event("s-down", "startup", "/tmp")),
    ("session-start", session_start_event("s-down", "compact", "/tmp")),
    ("pre-compact", pre_compact_event("s-down", "/tmp")),
    ("stop", {"session_id": "s-down", "transcript_path": "/tmp/x.jsonl", "cwd": "/tmp"}),
    ("tool-used", tool_event("PostToolUse", "mcp__memory__memory_recall")),
]


@pytest.mark.parametrize(("mode", "event"), EVENTS)
def test_daemon_down_means_exit_0_and_no_output(mode: str, event: dict[str, object]) -> None:
    home = short_tmpdir()
    run = run_hook(mode, event, hook_env(home / "run" / "absent.sock", home))
    assert run.returncode == 0
    assert run.stdout == "" and run.stderr == ""
    assert run.seconds < 1.0


@pytest.fixture
def silent_socket() -> Iterator[Path]:
    """A socket that accepts connections and never answers: a hung daemon."""
    home = short_tmpdir()
    path = home / "hung.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()


def test_hung_daemon_means_exit_0_within_the_timeout(silent_socket: Path) -> None:
    env = hook_env(silent_socket, silent_socket.parent)
    del env["MEMORY_HOOK_TIMEOUT"]  # the default: half a second
    run = run_hook("prompt", prompt_event("s-hung", "what did we decide about caching", "/"), env)
    assert run.returncode == 0 and run.stdout == ""
    assert 0.45 < run.seconds < 1.0


@pytest.mark.parametrize(("setting", "low", "high"), [("1.5", 1.45, 2.2), ("60", 4.45, 5.2)])
def test_the_hook_waits_as_long_as_memory_hook_timeout_says_up_to_its_cap(
    silent_socket: Path, setting: str, low: float, high: float
) -> None:
    env = hook_env(silent_socket, silent_socket.parent, MEMORY_HOOK_TIMEOUT=setting)
    run = run_hook("prompt", prompt_event("s-hung", "what did we decide about caching", "/"), env)
    assert run.returncode == 0 and run.stdout == ""
    assert low < run.seconds < high


def test_garbage_input_fails_open(tmp_path: Path) -> None:
    env = hook_env(tmp_path / "no.sock", tmp_path)
    for mode in ("prompt", "approve", "stop", "nonsense"):
        run = run_hook(mode, {"unexpected": ["shape"]}, env)
        assert run.returncode == 0 and run.stdout == ""


def test_debug_logs_to_stderr_and_to_a_file_under_memory_home() -> None:
    home = short_tmpdir()
    env = hook_env(home / "absent.sock", home, DEBUG_CLAUDE_MEMORY_HOOKS="1")
    run = run_hook("prompt", prompt_event("s-debug", "how is caching configured", "/"), env)
    assert run.returncode == 0 and run.stdout == ""
    assert "daemon unreachable" in run.stderr
    log = (home / "logs" / "hooks.log").read_text()
    assert "daemon unreachable" in log and "prompt: no output" in log
    # The prompt itself is never logged.
    assert "caching" not in log


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask022", "umask000"])
def test_the_debug_log_is_private_whatever_the_umask(umask: int) -> None:
    home = short_tmpdir() / "fresh-home"  # the hook creates it, to write its log
    env = hook_env(home / "absent.sock", home, DEBUG_CLAUDE_MEMORY_HOOKS="1")
    event = json.dumps(prompt_event("s-umask", "what did we decide about caching", "/"))
    done = subprocess.run(
        [sys.executable, "-S", str(HOOK), "prompt"],
        input=event,
        capture_output=True,
        text=True,
        env=env,
        timeout=10,
        umask=umask,
    )
    assert done.returncode == 0 and done.stdout == ""
    log = home / "logs" / "hooks.log"
    assert "daemon unreachable" in log.read_text()
    modes = [stat.S_IMODE(p.stat().st_mode) for p in (home, log.parent, log)]
    assert modes == [0o700, 0o700, 0o600]


class OneAnswer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Something on the daemon's socket that answers every request with the same body."""

    daemon_threads = True

    def __init__(self, path: Path, body: bytes) -> None:
        self.body = body
        super().__init__(str(path), OneAnswerHandler)


class OneAnswerHandler(socketserver.StreamRequestHandler):
    server: OneAnswer

    def handle(self) -> None:
        length = 0
        while (line := self.rfile.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        self.rfile.read(length)
        body = self.server.body
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
        self.wfile.write(head.encode() + b"\r\nConnection: close\r\n\r\n" + body)


VALID = {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": "x"}}


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(VALID).encode()[:-9],  # cut short
        b"{ not JSON, though it starts like it",
        b'{"decision": "block", "reason": "valid JSON that would stop the prompt"}',
        json.dumps({"hookSpecificOutput": {**VALID["hookSpecificOutput"], "x": 1}}).encode(),
        json.dumps({**VALID, "continue": False}).encode(),
        json.dumps(VALID).replace("UserPromptSubmit", "SessionStart").encode(),
        json.dumps(VALID).encode() + b" trailing",
        b'{"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": NaN}}',
        b"[" * 50_000,
    ],
)
def test_only_valid_hook_json_is_ever_printed(body: bytes) -> None:
    home = short_tmpdir()
    server = OneAnswer(home / "odd.sock", body)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = hook_env(home / "odd.sock", home)
        event = prompt_event("s-odd", "what did we decide about caching", "/")
        run = run_hook("prompt", event, env)
        assert run.returncode == 0 and run.stdout == "" and run.stderr == ""
        server.body = json.dumps(VALID).encode()
        assert run_hook("prompt", event, env).output() == VALID  # the same path, well answered
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
