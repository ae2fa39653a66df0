"""One HTTP/1.1 POST to memoryd's socket on a connection of its own, for the prompt hook.

A prompt hook runs in every session at once, so its request costs the shim as little as it
can. Through the shim's httpx client it cost 1.7 ms of CPU (its request and response models,
the connection pool); then h11 framed the request and read the answer, ~0.1 ms a call of its
events and header validation (docs/benchmarks.md, `shimfast`). Now the request, five fixed
headers, is written as bytes, and the answer is read by httptools (llhttp, the parser the
daemon's own uvicorn reads requests with), over a non-blocking socket the event loop waits on.
`Connection: close`; an answer that is not HTTP/1.x, is cut short, or is larger than any hook
answer is a BadAnswer.
"""

from __future__ import annotations

import socket
from pathlib import Path

import anyio
import httptools

READ_SIZE = 1 << 16
MAX_ANSWER = 1 << 20  # a hook answer is under 10,000 characters; anything larger is not one
CONNECT_RETRY_S = 0.002  # the daemon's accept queue is full: it drains in moments
FRAMING_HEADERS = (b"content-length", b"transfer-encoding")


class BadAnswer(Exception):
    """What answered is not the HTTP/1.1 answer expected."""


def request_bytes(path: str, body: bytes) -> bytes:
    """The POST of the JSON `body` to `path` (the shim's own, ASCII), as h11 framed it."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: memoryd\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class _Answer:
    """httptools' callbacks for one response: its body, and whether it is complete."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.complete = False
        self.framed = False  # a Content-Length or a Transfer-Encoding says where the body ends
        self.headers_done = False
        self.parser = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, _value: bytes) -> None:
        if name.lower() in FRAMING_HEADERS:
            self.framed = True

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def ended(self) -> bool:
        """At the end of the connection: True when that ends the body (no header framed it,
        as HTTP/1.1 reads it; httptools has no call for it)."""
        return self.headers_done and not self.framed

    def on_body(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > MAX_ANSWER:
            raise BadAnswer("the answer is too long")  # httptools re-raises it from feed_data
        self.chunks.append(data)

    def on_message_complete(self) -> None:
        self.complete = True


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
    answer = _Answer()
    while not answer.complete:
        try:
            data = sock.recv(READ_SIZE)
        except BlockingIOError:
            await anyio.wait_readable(sock)
            continue
        if not data:
            if answer.ended():
                break
            raise BadAnswer("the answer was cut short")
        try:
            answer.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, BadAnswer):
                raise exc.__context__ from None
            raise BadAnswer("not the HTTP answer expected") from None
        except httptools.HttpParserError as exc:
            raise BadAnswer(f"not the HTTP answer expected: {exc}") from None
    return answer.parser.get_status_code(), b"".join(answer.chunks)
