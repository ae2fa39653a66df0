"""The daemon client the CLI and the shim share (memory_core.daemon_client), against a real
daemon: error answers keep the daemon's status, code and message, for plain and streamed
requests alike, and an answer without the error envelope still becomes a RemoteError."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from memory_core.daemon_client import async_client, error_body, json_answer, remote_error
from memory_core.errors import RemoteError
from memoryd.cli.client import DaemonClient
from tests.support import Daemon, running_daemon


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    with running_daemon() as running:
        yield running


def test_an_error_answer_keeps_the_daemons_status_code_and_message(daemon: Daemon) -> None:
    with DaemonClient(daemon.socket) as client:
        with pytest.raises(RemoteError) as missing:
            client.request("GET", "/api/memories/0190ffff-0000-7000-8000-000000000000")
        assert (missing.value.status, missing.value.code) == (404, "not_found")
        assert "0190ffff" in missing.value.message
        with pytest.raises(RemoteError) as bad:
            client.request("POST", "/api/memories", json={"content": "x", "category": "nope"})
        assert (bad.value.status, bad.value.code) == (422, "unknown_category")


def test_a_streamed_error_answer_is_a_remote_error_too(daemon: Daemon) -> None:
    with DaemonClient(daemon.socket) as client, pytest.raises(RemoteError) as missing:
        list(client.stream_lines("/api/no-such-thing", {}))
    assert (missing.value.status, missing.value.code) == (404, "not_found")
    assert "/api/no-such-thing" in missing.value.message


async def test_the_async_client_reaches_the_same_daemon(daemon: Daemon) -> None:
    async with async_client(daemon.socket, 5.0) as client:
        health = json_answer(await client.get("/health"))
        missing = await client.delete("/api/memories/nope")
    assert daemon.proc is not None
    assert health["status"] == "ok" and health["pid"] == daemon.proc.pid
    error = error_body(missing)
    assert error is not None and error.code == "invalid"


def test_an_answer_without_the_envelope_keeps_its_status_and_text() -> None:
    # What a proxy or a foreign server would send; memoryd itself always sends the envelope.
    answer = httpx.Response(502, text="<html>Bad Gateway</html>")
    assert error_body(answer) is None
    error = remote_error(answer)
    assert (error.status, error.code, error.message) == (502, "http_error", answer.text)
    with pytest.raises(RemoteError):
        json_answer(answer)
