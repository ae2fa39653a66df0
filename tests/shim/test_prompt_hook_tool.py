"""memory_prompt_context, the plugin's prompt hook as Claude Code's `mcp_tool` hook calls it:
a real MCP client over stdio, a real shim, a real daemon."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import TextContent

from tests import support
from tests.shim.helpers import daemon_pids, shim, stop_daemons
from tests.support import Daemon, short_tmpdir

TOOL = "memory_prompt_context"


async def hook_text(client: Client, prompt: str, session_id: str, cwd: str) -> str:
    """The tool's one text, as Claude Code reads it; never an error result."""
    result = await client.call_tool(TOOL, {"prompt": prompt, "session_id": session_id, "cwd": cwd})
    assert not result.is_error, result.content
    assert result.structured_content is None
    [block] = result.content
    assert isinstance(block, TextContent)
    return block.text


def context_of(text: str) -> str:
    answer: dict[str, Any] = json.loads(text)
    if answer == {}:
        return ""
    assert list(answer) == ["hookSpecificOutput"]
    output = answer["hookSpecificOutput"]
    assert sorted(output) == ["additionalContext", "hookEventName"]
    assert output["hookEventName"] == "UserPromptSubmit"
    return str(output["additionalContext"])


def store(daemon: Daemon, content: str, **fields: object) -> str:
    return support.store(daemon.client(), content, **fields)


async def test_it_answers_hook_json_once_per_session_like_the_command_hook(
    daemon: Daemon, project_dir: Path
) -> None:
    nuxt = store(
        daemon,
        "The user prefers Vue with Nuxt for new frontend dashboards",
        category="preferences",
        expanded_keywords="javascript framework ui frontend",
    )
    store(daemon, "Invoices are rendered to PDF with Typst")
    cwd = str(project_dir / "src")
    prompt = "build me a frontend dashboard for the orders"
    async with shim(daemon.home, MEMORY_HOOK_TIMEOUT="4") as client:
        first = context_of(await hook_text(client, prompt, "s-tool", cwd))
        assert "Nuxt" in first and f"(id {nuxt}" in first and "[preferences]" in first
        assert "Typst" not in first
        # The session was shown it: the next prompt on the same topic adds nothing.
        assert await hook_text(client, prompt + " again", "s-tool", cwd) == "{}"
        # Another session has not seen it.
        assert "Nuxt" in context_of(await hook_text(client, prompt, "s-other", cwd))
        # Small talk: nothing.
        assert await hook_text(client, "thanks, that worked!", "s-tool", cwd) == "{}"


async def test_the_budget_is_the_hooks_setting(daemon: Daemon, project_dir: Path) -> None:
    for n in range(6):
        store(daemon, f"Kubernetes deploy rule {n}: " + "the helm chart values matter " * 12)
    prompt = "how do we deploy the helm chart to kubernetes"
    cwd = str(project_dir)
    async with shim(daemon.home, MEMORY_HOOK_TIMEOUT="4") as client:
        full = context_of(await hook_text(client, prompt, "s-wide", cwd))
    async with shim(daemon.home, MEMORY_HOOK_TIMEOUT="4", MEMORY_HOOK_BUDGET="600") as client:
        small = context_of(await hook_text(client, prompt, "s-narrow", cwd))
    assert len(full) > 600 >= len(small) > 0


async def test_it_fails_open_with_the_daemon_gone(daemon: Daemon, project_dir: Path) -> None:
    store(daemon, "The user prefers Svelte with SvelteKit for new frontend dashboards")
    prompt = "build me a frontend dashboard for the orders"
    async with shim(daemon.home) as client:
        daemon.stop()
        assert await hook_text(client, prompt, "s-gone", str(project_dir)) == "{}"
        # Nor did the hook start a daemon: a prompt never waits for one.
        assert daemon_pids(daemon.home) == []


async def test_bad_input_answers_nothing(daemon: Daemon, project_dir: Path) -> None:
    async with shim(daemon.home) as client:
        assert await hook_text(client, "build a dashboard", "", str(project_dir)) == "{}"
        assert await hook_text(client, "build a dashboard", "x" * 201, "") == "{}"
        result = await client.call_tool(TOOL, {})
        assert not result.is_error and result.content[0].text == "{}"  # type: ignore[union-attr]


class Peer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Something else on the daemon's socket: it answers `reply`, or holds the connection."""

    daemon_threads = True
    reply: bytes | None = None


class PeerHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(65536)
        assert isinstance(self.server, Peer)
        if self.server.reply is None:
            self.request.recv(65536)  # until the hook gives up and closes
            return
        self.request.sendall(self.server.reply)


def block_answer() -> bytes:
    body = json.dumps({"decision": "block", "reason": "x"}).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    return head + body


@pytest.mark.parametrize(
    "reply",
    [
        None,  # holds the connection past MEMORY_HOOK_TIMEOUT
        b"SSH-2.0-OpenSSH_9.6\r\n",
        block_answer(),  # JSON Claude Code would act on: never passed on
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{",  # cut short
    ],
)
async def test_whatever_else_answers_injects_nothing(reply: bytes | None) -> None:
    home = short_tmpdir("pk")
    sock = home / "run" / "d.sock"
    sock.parent.mkdir(parents=True)
    with Peer(str(sock), PeerHandler) as peer:
        peer.reply = reply
        threading.Thread(target=peer.serve_forever, daemon=True).start()
        try:
            async with shim(home, MEMORY_HOOK_TIMEOUT="0.3") as client:
                started = time.monotonic()
                assert await hook_text(client, "build a dashboard", "s-peer", "/tmp") == "{}"
                assert time.monotonic() - started < 3
        finally:
            peer.shutdown()
            stop_daemons(home)  # the shim's warm-up may have started one (it exits: taken)


def hook_answer(framing: str) -> bytes:
    body = json.dumps(
        {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": "ok"}}
    ).encode()
    if framing == "chunked":
        middle = len(body) // 2
        chunks = b"".join(
            b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:middle], body[middle:])
        )
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    if framing == "to the end":  # no length: the body ends with the connection
        return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + body
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


@pytest.mark.parametrize("framing", ["length", "chunked", "to the end"])
async def test_a_hook_answer_is_read_however_http_frames_it(framing: str) -> None:
    home = short_tmpdir("pk")
    sock = home / "run" / "d.sock"
    sock.parent.mkdir(parents=True)
    with Peer(str(sock), PeerHandler) as peer:
        peer.reply = hook_answer(framing)
        threading.Thread(target=peer.serve_forever, daemon=True).start()
        try:
            async with shim(home, MEMORY_HOOK_TIMEOUT="5") as client:
                text = await hook_text(client, "build a dashboard", "s-peer", "/tmp")
                assert context_of(text) == "ok"
        finally:
            peer.shutdown()
            stop_daemons(home)


async def test_an_answer_over_a_mebibyte_injects_nothing() -> None:
    home = short_tmpdir("pk")
    sock = home / "run" / "d.sock"
    sock.parent.mkdir(parents=True)
    huge = b"x" * ((1 << 20) + 1)
    with Peer(str(sock), PeerHandler) as peer:
        peer.reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(huge), huge)
        threading.Thread(target=peer.serve_forever, daemon=True).start()
        try:
            async with shim(home, MEMORY_HOOK_TIMEOUT="5") as client:
                assert await hook_text(client, "build a dashboard", "s-peer", "/tmp") == "{}"
        finally:
            peer.shutdown()
            stop_daemons(home)
