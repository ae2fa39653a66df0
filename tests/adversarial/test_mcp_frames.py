"""JSON-RPC frames no client library would write, sent raw to the shim's stdin: not JSON, not an
object, a tool call holding half an emoji (a lone surrogate escape), an integer of 5,000 digits,
arguments nested 100,000 deep, a NUL. The shim must stay up and answer the next call; a frame
that carries a request id must be answered too (a result, an isError result or a JSON-RPC
error), or Claude Code waits for it until its own timeout."""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest

from tests.adversarial.daemons import LoggedDaemon, logged_daemon
from tests.shim.helpers import raw_shim, shim_env

ANSWER_WITHIN = 10.0  # seconds; a loaded machine answers a tool call in well under one


class RawShim:
    """`python -m mcp_shim` with a pipe on each side, driven one line at a time."""

    def __init__(self, daemon: LoggedDaemon) -> None:
        env = {**os.environ, **shim_env(daemon.home)}
        self.proc = raw_shim(daemon.home, env, stderr=subprocess.DEVNULL)
        self.buffer = b""
        self.answers: dict[Any, dict[str, Any]] = {}
        self.send({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "adversarial", "version": "0"}}})  # fmt: skip
        assert self.answer("init") is not None, "the shim did not initialize"
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, frame: dict[str, Any] | bytes) -> None:
        assert self.proc.stdin is not None
        line = frame if isinstance(frame, bytes) else json.dumps(frame).encode()
        self.proc.stdin.write(line + b"\n")
        self.proc.stdin.flush()

    def answer(self, request_id: Any, timeout: float = ANSWER_WITHIN) -> dict[str, Any] | None:
        """The response to `request_id`, or None if none came within `timeout`."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while request_id not in self.answers:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                message = json.loads(line)
                if isinstance(message, dict) and "id" in message:
                    self.answers[message["id"]] = message
            remaining = deadline - time.monotonic()
            if request_id in self.answers or remaining <= 0:
                break
            ready, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    break  # the shim exited
                self.buffer += chunk
        return self.answers.get(request_id)

    def count(self, request_id: str) -> dict[str, Any] | None:
        self.send({"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                   "params": {"name": "memory_count", "arguments": {}}})  # fmt: skip
        return self.answer(request_id)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="module")
def raw() -> Iterator[RawShim]:
    """One shim, on a daemon of its own, for every frame: each test also checks that it
    survived the ones before."""
    with logged_daemon() as daemon, closing(RawShim(daemon)) as session:
        yield session


def _call(request_id: int, arguments: bytes) -> bytes:
    head = b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"memory_store",'
    return head % request_id + b'"arguments":' + arguments + b"}}"


STORE = b'{"content":"%s","expanded_keywords":"five extra words for search"%s}'
# (frame, the id it carries or None)
FRAMES: dict[str, tuple[bytes, int | None]] = {
    "not-json": (b"this is not json", None),
    "array": (b"[1, 2, 3]", None),
    "empty-object": (b"{}", None),
    "truncated": (b'{"jsonrpc":"2.0","id":7,"method":"tools/ca', None),
    "bare-string": (b'"tools/call"', None),
    "nul-in-content": (_call(11, STORE % (b"a\\u0000b", b"")), 11),
    "control-chars": (_call(12, STORE % (b"\\u001b[2J\\u0007", b"")), 12),
    "unknown-method": (b'{"jsonrpc":"2.0","id":13,"method":"memory/steal","params":{}}', 13),
    "no-params": (b'{"jsonrpc":"2.0","id":14,"method":"tools/call"}', 14),
    "lone-surrogate": (_call(21, STORE % (b"half an emoji \\ud83d", b"")), 21),
    "huge-int": (_call(22, STORE % (b"x", b',"importance":' + b"9" * 5000)), 22),
    "deep": (_call(23, b"[" * 100_000 + b"]" * 100_000), 23),
}
# The SDK's transport drops these unread; the shim's FrameScreen answers them (mcp_shim/framing.py).
SDK_DROPS = {"lone-surrogate", "huge-int", "deep"}


@pytest.mark.parametrize("name", list(FRAMES))
def test_a_malformed_frame_is_answered_and_the_shim_goes_on(raw: RawShim, name: str) -> None:
    frame, request_id = FRAMES[name]
    raw.send(frame)
    after = raw.count(f"after-{name}")
    assert after is not None and after["result"]["isError"] is False, after
    assert raw.proc.poll() is None
    if request_id is not None:
        # Frames are read in order: by the time the next call is answered, this one has been
        # read, and either answered or dropped. A short grace covers one still in flight.
        answer = raw.answer(request_id, timeout=3.0)
        assert answer is not None, f"no answer to request {request_id} ({name})"
        assert "result" in answer or "error" in answer
        assert "Traceback" not in json.dumps(answer)
        if name in SDK_DROPS:
            assert answer["error"]["code"] == -32600, answer
