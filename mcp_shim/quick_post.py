"""One HTTP/1.1 POST to memoryd's socket on a connection of its own, for the prompt hook.

A prompt hook runs in every session at once, so its request costs the shim as little as it
can. Through the shim's httpx client it cost 1.7 ms of CPU (its request and response models,
the connection pool); through h11 over an anyio stream 0.29 ms; as here, the request written
out as bytes and the answer read by `http_answer.Answer` from a non-blocking socket the event
loop waits on, 0.12 ms (docs/benchmarks.md). The request is always the same shape
(`Connection: close`, a JSON body of known length); the answer is checked as strictly as the
hook needs (http_answer.py).
"""

from __future__ import annotations

import socket
from pathlib import Path

import anyio

from mcp_shim.http_answer import MAX_ANSWER, Answer, BadAnswer

__all__ = ["MAX_ANSWER", "BadAnswer", "post"]

READ_SIZE = 1 << 16
CONNECT_RETRY_S = 0.002  # the daemon's accept queue is full: it drains in moments


def request_bytes(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\n"
        "Host: memoryd\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body


async def post(socket_path: Path, path: str, body: bytes) -> tuple[int, bytes]:
    """(status, body) of a POST of the JSON `body`; OSError when nobody answers, BadAnswer
    when the answer is not one. The caller bounds the time it takes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        await _connect(sock, str(socket_path))
        await _send_all(sock, request_bytes(path, body))
        return await _receive(sock)


async def _connect(sock: socket.socket, address: str) -> None:
    while True:
        try:
            sock.connect(address)
            return
        except BlockingIOError:
            # A Unix socket's connect only blocks on a full accept queue, and a socket not yet
            # connected polls writable at once: wait a moment instead of spinning on it.
            await anyio.sleep(CONNECT_RETRY_S)


async def _send_all(sock: socket.socket, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view) :]
        except BlockingIOError:
            await anyio.wait_writable(sock)


async def _receive(sock: socket.socket) -> tuple[int, bytes]:
    answer = Answer()
    while True:
        try:
            data = sock.recv(READ_SIZE)
        except BlockingIOError:
            await anyio.wait_readable(sock)
            continue
        if not data:
            return answer.at_end()
        done = answer.feed(data)
        if done is not None:
            return done
