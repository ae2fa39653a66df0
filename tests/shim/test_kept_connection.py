"""The prompt hook's kept connection to memoryd (mcp_shim.quick_post.KeptConnection): one
connection from one prompt to the next, replaced when the daemon closed it, and a request the
connection was closed under sent once more. Against a real daemon, and against a real socket
peer that closes a connection the way an idle-timeout does."""

from __future__ import annotations

import json
import socketserver
import threading
from pathlib import Path

import anyio
import pytest

from mcp_shim.quick_post import Closed, KeptConnection
from tests.support import Daemon, short_tmpdir

PATH = "/api/hooks/prompt?budget=2000"


def event(prompt: str, session_id: str) -> bytes:
    return json.dumps(
        {
            "hook_event_name": "UserPromptSubmit",
            "session_id": session_id,
            "cwd": None,
            "prompt": prompt,
        }
    ).encode()


def stored(daemon: Daemon, content: str) -> None:
    daemon.client().post("/api/memories", json={"content": content}).raise_for_status()


async def test_prompts_share_one_connection_and_a_restart_is_survived(daemon: Daemon) -> None:
    stored(daemon, "The user prefers Svelte with SvelteKit for new frontend dashboards")
    kept = KeptConnection(daemon.socket)
    try:
        for n in range(3):
            status, body = await kept.post(PATH, event("build a svelte dashboard", f"s-{n}"))
            assert status == 200 and b"SvelteKit" in body
        assert kept.opened == 1
        daemon.stop()
        daemon.start()  # the kept connection was closed with the old process
        status, body = await kept.post(PATH, event("build a svelte dashboard", "s-after"))
        assert status == 200 and b"SvelteKit" in body
        assert kept.opened == 2
    finally:
        kept.close()


async def test_a_prompt_while_one_is_answered_takes_a_connection_of_its_own(
    daemon: Daemon,
) -> None:
    stored(daemon, "Deploys go through Argo CD from the main branch")
    kept = KeptConnection(daemon.socket)
    answers: list[int] = []

    async def one(n: int) -> None:
        status, _ = await kept.post(PATH, event("how do we deploy with argo", f"c-{n}"))
        answers.append(status)

    try:
        async with anyio.create_task_group() as group:
            for n in range(4):
                group.start_soon(one, n)
        assert answers == [200] * 4
        assert kept.opened == 1  # the others were one-off connections
    finally:
        kept.close()


async def test_a_cancelled_request_leaves_no_connection_behind(daemon: Daemon) -> None:
    kept = KeptConnection(daemon.socket)
    try:
        with anyio.move_on_after(0):
            await kept.post(PATH, event("anything at all here", "x-1"))
        status, _ = await kept.post(PATH, event("anything at all here", "x-2"))
        assert status in (200, 204)
        assert kept.opened == 2
    finally:
        kept.close()


class ClosingPeer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Answers the first request; then closes the connection of each of the next `closes`
    requests without answering (as a server does whose idle timeout fired just as the request
    arrived); then answers again."""

    daemon_threads = True
    closes = 1
    connections = 0
    answered = 0


class ClosingHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = self.server
        assert isinstance(server, ClosingPeer)
        server.connections += 1
        while self.request.recv(65536):
            if server.answered and server.closes > 0:
                server.closes -= 1
                return  # closed under the request, before any answer
            server.answered += 1
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")


@pytest.mark.parametrize("closes", [1, 2])
async def test_a_request_closed_under_is_sent_once_more(closes: int) -> None:
    home = short_tmpdir("kc")
    sock = home / "peer.sock"
    with ClosingPeer(str(sock), ClosingHandler) as peer:
        peer.closes = closes
        threading.Thread(target=peer.serve_forever, daemon=True).start()
        kept = KeptConnection(Path(sock))
        try:
            assert await kept.post(PATH, b"{}") == (200, b"{}")
            if closes == 1:  # sent once more, on a new connection, and answered
                assert await kept.post(PATH, b"{}") == (200, b"{}")
                assert peer.connections == 2
            else:  # once only: the new connection closed under it too
                with pytest.raises(Closed):
                    await kept.post(PATH, b"{}")
        finally:
            kept.close()
            peer.shutdown()
