#!/usr/bin/env python3
"""Claude Code hooks for memoryd: one stdlib-only script, one mode per hook event.

    memory_hook.py prompt         UserPromptSubmit: inject the memories relevant to the prompt
    memory_hook.py session-start  SessionStart: digest (startup/resume/clear), or the memories
                                  saved before compaction (compact)
    memory_hook.py pre-compact    PreCompact: ask the daemon to save this session's memories
    memory_hook.py stop           Stop: hand the transcript to the daemon's learning queue
    memory_hook.py tool-used      PostToolUse on memory tools: tell the daemon what was
                                  recalled or stored in this session
    memory_hook.py approve        PermissionRequest / PreToolUse on memory tools

The hook is a relay: it reads the event JSON on stdin, posts it to memoryd over the Unix socket
with a short timeout, and prints the daemon's answer (already in Claude Code's output shape).
Retrieval, dedup and learning all live in the daemon. Any failure (daemon down, slow, bad
answer) ends in exit 0 with nothing printed: memory must never block or slow a prompt.

Only the standard library is imported, so startup stays at a few milliseconds.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time

# Not `typing`: importing it costs more than the rest of the hook (annotations stay strings).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

TIMEOUT = 0.5
DEFAULT_BUDGET = 8192

# Tools that only read or add: approved without a prompt. Anything else of ours still asks.
SAFE_TOOLS = frozenset(
    {"memory_recall", "memory_list", "memory_count", "memory_store", "memory_update"}
)
GUARDED_TOOLS = frozenset({"memory_delete", "secret_get"})
# `mcp__<server>__<tool>`: the manual server name, or the plugin-scoped
# `plugin_<plugin>_<server>` (Claude Code maps characters outside [A-Za-z0-9_-] to `_`).
_SERVER = re.compile(r"^(?:plugin_.+_)?(?:memory|memoryd|claude[-_]memory)$")

_ENDPOINTS = {
    "prompt": "/api/hooks/prompt",
    "session-start": "/api/hooks/session-start",
    "pre-compact": "/api/hooks/pre-compact",
    "stop": "/api/hooks/stop",
    "tool-used": "/api/hooks/tool-used",
}


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None  # empty counts as unset, as in memoryd/config.py


def memory_home() -> str:
    return os.path.expanduser(_env("MEMORY_HOME") or "~/.claude/claude-memory")


def socket_path() -> str:
    """The same resolution as memoryd.config.Settings.socket_path."""
    explicit = _env("MEMORY_SOCKET")
    if explicit:
        return os.path.expanduser(explicit)
    runtime = _env("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "memoryd", "memoryd.sock")
    return os.path.join(memory_home(), "run", "memoryd.sock")


def _debugging() -> bool:
    return _env("DEBUG_CLAUDE_MEMORY_HOOKS") == "1"


def debug(message: str) -> None:
    """Log what the hook did, only when asked; never lets logging break the hook."""
    if not _debugging():
        return
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} memory-hook[{os.getpid()}] {message}"
    try:
        print(line, file=sys.stderr)
        log_dir = os.path.join(memory_home(), "logs")
        os.makedirs(log_dir, mode=0o700, exist_ok=True)
        path = os.path.join(log_dir, "hooks.log")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as handle:
            handle.write(line + "\n")
    except OSError:
        pass


class HookHTTPError(Exception):
    pass


def _dechunk(body: bytes) -> bytes:
    out, rest = [], body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2 :]
    return b"".join(out)


def exchange(path: str, payload: bytes, timeout: float = TIMEOUT) -> tuple[int, bytes]:
    """One HTTP/1.1 POST over the Unix socket, within `timeout` seconds in all.

    Written by hand on a plain socket: importing http.client (and the email package it
    pulls in) would take longer than everything else the hook does.
    """
    deadline = time.monotonic() + timeout
    request = (
        f"POST {path} HTTP/1.1\r\nHost: memoryd\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode() + payload
    chunks = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(socket_path())
        sock.sendall(request)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no complete answer within {timeout}s")
            sock.settimeout(remaining)
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    head, sep, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise HookHTTPError("not an HTTP response")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    if headers.get(b"transfer-encoding") == b"chunked":
        body = _dechunk(body)
    elif b"content-length" in headers:
        length = int(headers[b"content-length"])
        if len(body) < length:
            raise HookHTTPError("answer cut short")
        body = body[:length]
    return int(parts[1]), body


def post(path: str, body: dict[str, Any], timeout: float = TIMEOUT) -> Any:
    """POST JSON to the daemon; the decoded answer, or None on any failure."""
    try:
        status, raw = exchange(path, json.dumps(body).encode(), timeout)
        if status >= 300:
            debug(f"{path}: HTTP {status} {raw[:200]!r}")
            return None
        return json.loads(raw) if raw.strip() else None
    except (OSError, HookHTTPError, ValueError) as exc:
        debug(f"{path}: daemon unreachable or bad answer ({type(exc).__name__}: {exc})")
        return None


def _budget() -> int:
    raw = _env("MEMORY_HOOK_BUDGET")
    try:
        return max(512, min(9500, int(raw))) if raw else DEFAULT_BUDGET
    except ValueError:
        return DEFAULT_BUDGET


# What each endpoint reads; the rest of the event (the last assistant message, tool inputs)
# is not sent, so a long turn cannot push a request over the daemon's body limit.
_FIELDS = {
    "prompt": ("session_id", "cwd", "prompt"),
    "session-start": ("session_id", "cwd", "source"),
    "pre-compact": ("session_id", "cwd", "trigger"),
    "stop": ("session_id", "cwd", "transcript_path"),
    "tool-used": ("session_id", "cwd", "tool_name", "tool_response"),
}
MAX_PROMPT_CHARS = 8000  # recall reads the first few dozen words anyway


def relay(mode: str, event: dict[str, Any]) -> dict[str, Any] | None:
    body = {k: event[k] for k in _FIELDS[mode] if k in event}
    if isinstance(body.get("prompt"), str):
        body["prompt"] = body["prompt"][:MAX_PROMPT_CHARS]
    if mode in ("prompt", "session-start"):
        body["budget"] = _budget()
    answer = post(_ENDPOINTS[mode], body)
    # The daemon answers {"output": <what Claude Code should read, or null>, ...details}.
    output = answer.get("output") if isinstance(answer, dict) else None
    return output if isinstance(output, dict) and output else None


def split_tool(tool_name: str) -> tuple[str, str] | None:
    """(server, tool) for one of our MCP tools, else None."""
    parts = tool_name.split("__")
    if len(parts) != 3 or parts[0] != "mcp" or not _SERVER.match(parts[1]):
        return None
    return parts[1], parts[2]


def approve(event: dict[str, Any]) -> dict[str, Any] | None:
    """Allow our read/add tools; leave everything else to Claude Code's own permission flow."""
    if _env("DISABLE_CLAUDE_MEMORY_AUTO_APPROVE") == "1":
        return None
    ours = split_tool(str(event.get("tool_name", "")))
    if ours is None:
        return None
    tool = ours[1]
    allowed = tool in SAFE_TOOLS or (
        tool in GUARDED_TOOLS and _env("MEMORY_AUTO_APPROVE_ALL") == "1"
    )
    if not allowed:
        return None  # no decision: Claude Code asks the user as usual
    name = str(event.get("hook_event_name", "PreToolUse"))
    reason = f"memoryd: {tool} only reads or adds memories"
    if name == "PermissionRequest":
        return {"hookSpecificOutput": {"hookEventName": name, "decision": {"behavior": "allow"}}}
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "permissionDecisionReason": reason,
        }
    }


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    mode = argv[1] if len(argv) > 1 else ""
    try:
        event = json.loads(sys.stdin.read() or "{}")
        if not isinstance(event, dict):
            raise ValueError("hook input is not a JSON object")
        if mode == "approve":
            out = approve(event)
        elif mode in _ENDPOINTS:
            # After a Stop hook made Claude continue, the turn is not over: nothing to learn yet.
            skip = mode == "stop" and bool(event.get("stop_hook_active"))
            out = None if skip else relay(mode, event)
        else:
            debug(f"unknown mode {mode!r}")
            return 0
        if out is not None:
            sys.stdout.write(json.dumps(out))
            sys.stdout.flush()
        debug(
            f"{mode}: {'answered' if out else 'no output'} in "
            f"{(time.perf_counter() - started) * 1000:.1f} ms"
        )
    except Exception as exc:  # fail open, whatever happened
        debug(f"{mode}: failed open ({type(exc).__name__}: {exc})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
