"""Helpers for tests that speak JSON-RPC lines to a running shim themselves (no client library
in between, so that what the shim writes is seen byte for byte), and a stand-in for memoryd
on the daemon's socket that answers the prompt hook as a test needs."""

from __future__ import annotations

import json
import os
import socketserver
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp_types.version import (
    LATEST_HANDSHAKE_VERSION,
    LATEST_MODERN_VERSION,
    MODERN_PROTOCOL_VERSIONS,
)

from memory_core.version import PROTOCOL, __version__
from tests.shim.helpers import shim_env
from tests.support import REPO

TOOL = "memory_prompt_context"
LINE_LIMIT = 1 << 24
WAIT_S = 20.0


def request(request_id: object, method: str, params: dict[str, Any] | None = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode() + b"\n"


def notification(method: str, params: dict[str, Any] | None = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode() + b"\n"


def prompt_call(request_id: object, arguments: object, **params: object) -> bytes:
    """A `memory_prompt_context` call; `params` adds members beside name and arguments (an
    empty `_meta` leaves the call to the SDK, with the same meaning)."""
    return request(request_id, "tools/call", {"name": TOOL, "arguments": arguments, **params})


# The 2026 per-request envelope as the pinned Claude Code CLI sends it with every request.
ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": LATEST_MODERN_VERSION,
    "io.modelcontextprotocol/clientInfo": {"name": "claude-code", "version": "2.1.332"},
    "io.modelcontextprotocol/clientCapabilities": {"roots": {"listChanged": True}},
}


def initialize(version: str = LATEST_HANDSHAKE_VERSION) -> bytes:
    params = {
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "raw-session-test", "version": "0"},
    }
    return request("init", "initialize", params)


INITIALIZED = notification("notifications/initialized")


class RawSession:
    """One running shim: lines written to its stdin, its answers read by id."""

    def __init__(self, process: anyio.abc.Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self._stdin = process.stdin
        self._stdout = BufferedByteReceiveStream(process.stdout)
        self._early: dict[Any, bytes] = {}  # answers read while waiting for another

    async def send(self, *lines: bytes) -> None:
        await self._stdin.send(b"".join(lines))

    async def start(self, version: str = LATEST_HANDSHAKE_VERSION) -> None:
        """Opens the session: the handshake, or at a 2026 version a first request carrying
        the envelope, as Claude Code opens one."""
        if version in MODERN_PROTOCOL_VERSIONS:
            envelope = {**ENVELOPE, "io.modelcontextprotocol/protocolVersion": version}
            await self.send(request("init", "tools/list", {"_meta": envelope}))
            await self.raw_answer("init")
            return
        await self.send(initialize(version))
        await self.raw_answer("init")
        await self.send(INITIALIZED)

    async def raw_answer(self, request_id: object) -> bytes:
        """The line answering `request_id`, as written."""
        with anyio.fail_after(WAIT_S):
            while request_id not in self._early:
                line = await self._stdout.receive_until(b"\n", LINE_LIMIT)
                self._early[json.loads(line).get("id")] = line
        return self._early.pop(request_id)

    async def answer(self, request_id: object) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(await self.raw_answer(request_id))
        return answer

    async def end(self) -> list[dict[str, Any]]:
        """Ends the input and returns what the shim wrote after it (and the unclaimed lines
        read before), once the shim has exited."""
        await self._stdin.aclose()
        rest = [json.loads(line) for line in self._early.values()]
        with anyio.fail_after(WAIT_S):
            tail = b""
            with suppress(anyio.EndOfStream, anyio.IncompleteRead):
                while True:
                    tail += await self._stdout.receive()
            await self.process.wait()
        return rest + [json.loads(line) for line in tail.splitlines()]


def text_of(answer: dict[str, Any]) -> str:
    """The text of a tool result that is not an error result."""
    result = answer["result"]
    assert result["isError"] is False, answer
    [block] = result["content"]
    return str(block["text"])


@asynccontextmanager
async def raw_session(
    home: Path,
    *,
    argv: list[str] | None = None,
    start: bool = True,
    version: str = LATEST_HANDSHAKE_VERSION,
    **env: str,
) -> AsyncIterator[RawSession]:
    """A shim (or `argv`) serving MEMORY_HOME `home`, its stderr at `home`/shim.err, started
    (initialized at protocol `version`) unless told not to."""
    command = argv or [sys.executable, "-m", "mcp_shim"]
    environment = {**os.environ, **shim_env(home, **env)}
    with (home / "shim.err").open("wb") as stderr:
        process = await anyio.open_process(command, env=environment, cwd=REPO, stderr=stderr)
        async with process:
            session = RawSession(process)
            try:
                if start:
                    await session.start(version)
                yield session
            finally:
                with suppress(ProcessLookupError):
                    process.kill()


class StandIn(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """memoryd's socket answered by the test: /health as a daemon of this version (so that no
    shim starts one), the prompt hook by `answer_prompt` below."""

    daemon_threads = True

    def __init__(self, path: Path, *, together: int = 0, hold: bool = False) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        super().__init__(str(path), StandInHandler)
        self.hold = hold  # keep every prompt hook's connection open, never answer
        self.together = threading.Barrier(together) if together else None
        self.connected = threading.Semaphore(0)  # released when a held one arrives
        self.closed_by_shim = threading.Semaphore(0)  # released when a held one is closed

    def __enter__(self) -> StandIn:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class StandInHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = self.server
        assert isinstance(server, StandIn)
        head, body = self._read_request()
        if head.startswith(b"GET /health "):
            health = {"status": "ok", "pid": os.getpid(), "version": __version__}
            self._reply(200, {**health, "protocol": PROTOCOL})
            return
        if server.hold:
            server.connected.release()
            while self.request.recv(65536):  # until the shim gives up on it
                pass
            server.closed_by_shim.release()
            return
        if server.together is not None:
            server.together.wait(WAIT_S)  # every call's connection is open at once
        session = json.loads(body)["session_id"]
        context = f"for {session}"
        output = {"hookEventName": "UserPromptSubmit", "additionalContext": context}
        self._reply(200, {"hookSpecificOutput": output})

    def _read_request(self) -> tuple[bytes, bytes]:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return data, b""
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = self.request.recv(65536)
            if not chunk:
                break
            body += chunk
        return head, body

    def _reply(self, status: int, answer: dict[str, Any]) -> None:
        body = json.dumps(answer).encode()
        head = f"HTTP/1.1 {status} OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        self.request.sendall(head.encode() + body)
