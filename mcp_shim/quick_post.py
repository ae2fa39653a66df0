"""One HTTP/1.1 POST to memoryd's socket on a connection of its own, for the prompt hook.

A prompt hook runs in every session at once, so its request costs the shim as little as it
can. Through the shim's httpx client it cost 1.7 ms of CPU (its request and response models,
the connection pool); here h11 (the sans-IO HTTP/1.1 library httpx is built on) frames the
request and reads the answer, over a non-blocking socket the event loop waits on
(docs/benchmarks.md). `Connection: close`; an answer larger than any hook answer is refused.
"""

from __future__ import annotations

import socket
from pathlib import Path

import anyio
import h11

READ_SIZE = 1 << 16
MAX_ANSWER = 1 << 20  # a hook answer is under 10,000 characters; anything larger is not one
CONNECT_RETRY_S = 0.002  # the daemon's accept queue is full: it drains in moments


class BadAnswer(Exception):
    """What answered is not the HTTP/1.1 answer expected."""


def request_bytes(conn: h11.Connection, path: str, body: bytes) -> bytes:
    head = h11.Request(
        method="POST",
        target=path,
        headers=[
            ("Host", "memoryd"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ],
    )
    return b"".join(
        conn.send(event) or b"" for event in (head, h11.Data(data=body), h11.EndOfMessage())
    )


async def post(socket_path: Path, path: str, body: bytes) -> tuple[int, bytes]:
    """(status, body) of a POST of the JSON `body`; OSError when nobody answers, BadAnswer
    when the answer is not one. The caller bounds the time it takes."""
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_ANSWER)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        await _connect(sock, str(socket_path))
        await _send_all(sock, request_bytes(conn, path, body))
        try:
            return await _receive(sock, conn)
        except h11.ProtocolError as exc:
            raise BadAnswer(f"not the HTTP answer expected: {exc}") from None


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


async def _receive(sock: socket.socket, conn: h11.Connection) -> tuple[int, bytes]:
    status, chunks, size = 0, [], 0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                conn.receive_data(sock.recv(READ_SIZE))
            except BlockingIOError:
                await anyio.wait_readable(sock)
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            size += len(event.data)
            if size > MAX_ANSWER:
                raise BadAnswer("the answer is too long")
            chunks.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            return status, b"".join(chunks)
        elif isinstance(event, h11.ConnectionClosed):
            raise BadAnswer("the answer was cut short")
