"""The shim's own stdio transport (mcp_shim/stdio.py): lines split and decoded as the SDK's
transport split them, whatever stdin and stdout are (pipes, a socket as Claude Code's node
gives a server, plain files), and a client that reads its answers late gets every one."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio

from mcp_shim.stdio import LineReader, Writer
from tests.shim.helpers import shim_env
from tests.support import REPO, Daemon, wait_until

INIT = {"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "transport-test", "version": "0"}}}  # fmt: skip
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
CHUNKS = [b'{"a":1}\r\n{"b"', b":2}\n\xff\xfe\n", b"", b'{"tail":true}']
PIPE_SIZE = 4096
LINES = ['{"a":1}\r\n', '{"b":2}\n', "\ufffd\ufffd\n", '{"tail":true}']


def frame(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def call(request_id: int, method: str, params: dict[str, Any]) -> bytes:
    return frame({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})


def answers(output: bytes) -> dict[Any, dict[str, Any]]:
    out = {}
    for line in output.splitlines():
        message = json.loads(line)
        out[message.get("id")] = message
    return out


def start_shim(daemon: Daemon, stdin: Any, stdout: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mcp_shim"],
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **shim_env(daemon.home)},
        cwd=REPO,
    )


async def read_lines(fd: int) -> list[str]:
    return [line async for line in LineReader(fd)]


def test_lines_from_a_pipe_are_split_and_decoded_as_the_sdk_did() -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as reading:
        with os.fdopen(write_end, "wb", buffering=0) as writing:
            for chunk in CHUNKS:  # all written before reading: the pipe holds them
                writing.write(chunk)
        assert anyio.run(read_lines, reading.fileno()) == LINES


def test_lines_from_a_file_are_read_in_a_worker_thread(tmp_path: Path) -> None:
    path = tmp_path / "input"
    path.write_bytes(b"".join(CHUNKS))
    with path.open("rb") as reading:  # a regular file: no selector can wait on it
        assert anyio.run(read_lines, reading.fileno()) == LINES


def test_it_serves_plain_files_on_both_sides(daemon: Daemon, tmp_path: Path) -> None:
    requests = tmp_path / "requests"
    # One line with no newline: read all the same, as the SDK's transport read it. (Only
    # `initialize`: the SDK may drop a request still running when the input ends.)
    requests.write_bytes(frame(INIT)[:-1])
    output = tmp_path / "output"
    with requests.open("rb") as stdin, output.open("wb") as stdout:
        assert start_shim(daemon, stdin, stdout).wait(30) == 0
    got = answers(output.read_bytes())
    assert got["init"]["result"]["serverInfo"]["name"] == "memoryd"


def test_frames_are_written_whole_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "output"
    data = b"x" * (1 << 20) + b"\n"
    with path.open("wb") as writing:  # a regular file: written in a worker thread
        writer = Writer(writing.fileno())
        assert not writer.on_loop
        anyio.run(writer.write, data)
    assert path.read_bytes() == data


def test_it_serves_a_socket_as_node_gives_one(daemon: Daemon) -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        proc = start_shim(daemon, theirs, theirs)
        theirs.close()
        ours.sendall(frame(INIT) + frame(INITIALIZED) + call(2, "tools/list", {}))
        received = b""
        while received.count(b"\n") < 2:
            chunk = ours.recv(65536)
            assert chunk, "the shim closed the socket"
            received += chunk
        ours.shutdown(socket.SHUT_WR)  # end of input: the shim exits
        assert proc.wait(30) == 0
    assert sorted(answers(received), key=str) == [2, "init"]


def test_a_client_that_reads_late_gets_every_answer(daemon: Daemon) -> None:
    """Answers larger than the pipe holds, and more of them than it holds, asked before the
    client reads any: the writer waits for room (stdout is non-blocking), the rest of the
    shim goes on meanwhile (a store asked after them reaches the daemon), nothing is lost."""
    requests = [call(n, "tools/list", {}) for n in range(1, 121)]
    store = call(500, "tools/call", {"name": "memory_store", "arguments": {
        "content": "The transport test stored this while its answers waited",
        "expanded_keywords": "pipe full writer stalled client"}})  # fmt: skip
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)  # the smallest: one page
    with os.fdopen(write_end, "wb") as stdout:
        proc = start_shim(daemon, subprocess.PIPE, stdout)
    assert proc.stdin is not None
    proc.stdin.write(frame(INIT) + frame(INITIALIZED) + b"".join(requests) + store)
    proc.stdin.flush()  # fits in the pipe: ~10 KB
    client = daemon.client()
    wait_until(lambda: client.get("/api/stats").json()["total"] == 1, 20, "the store")
    output = b""
    with os.fdopen(read_end, "rb") as reading:
        while output.count(b"\n") < len(requests) + 2:
            chunk = os.read(reading.fileno(), 1 << 16)
            assert chunk, "the shim closed its stdout"
            output += chunk
        proc.stdin.close()
        assert proc.wait(30) == 0
    got = answers(output)
    assert sorted(got, key=str) == sorted([*range(1, 121), 500, "init"], key=str)
    assert all(len(json.dumps(got[n])) > PIPE_SIZE for n in range(1, 121))
    assert got[500]["result"]["isError"] is False
