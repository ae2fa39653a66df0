"""The prompt hook's HTTP/1.1 POSTs to memoryd's socket: `KeptConnection`, one connection
kept from one prompt to the next, and `post`, a connection of its own.

A prompt hook runs in every session at once, so its request costs the shim as little as it
can. Through the shim's httpx client it cost 1.7 ms of CPU (its request and response models,
the connection pool); then h11 framed the request and read the answer, ~0.1 ms a call of its
events and header validation (docs/benchmarks.md, `shimfast`). Now the request, five fixed
headers, is written as bytes, and the answer is read by httptools (llhttp, the parser the
daemon's own uvicorn reads requests with), over a non-blocking socket the event loop waits on.
An answer that is not HTTP/1.x, is cut short, or is larger than any hook answer is a
BadAnswer.
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


class Closed(BadAnswer):
    """The connection closed before any of an answer arrived."""


def request_bytes(path: str, body: bytes, keep: bool = False) -> bytes:
    """The POST of the JSON `body` to `path` (the shim's own, ASCII); `keep`: the connection
    stays open after the answer."""
    close = "" if keep else "Connection: close\r\n"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: memoryd\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{close}\r\n"
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
        self.keep_alive = False  # the connection may carry another request (HTTP/1.1's rule)
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
        # Read here: once the message is complete, llhttp is ready for the next one and says
        # False whatever the answer said.
        self.keep_alive = self.parser.should_keep_alive()


class KeptConnection:
    """The prompt hook's connection to memoryd, kept open from one prompt to the next (memoryd
    keeps an idle one for KEEP_ALIVE_S: memoryd.daemon). A connection per prompt cost the
    daemon ~0.3-0.4 ms of CPU (accepting it, a protocol and a task for it, closing it), a
    tenth of what it spends on a prompt (bench/daemon_cpu.py). It carries one request at a
    time: a call while it is busy (a second prompt of the session at once) takes a connection
    of its own. One found closed (the daemon restarted, or dropped it idle) is replaced; a
    request it was closed under before any answer came is sent once more, on a new
    connection: memoryd closes an idle connection only, never one with a request in it."""

    def __init__(self, socket_path: Path) -> None:
        self._socket_path = socket_path
        self._sock: socket.socket | None = None
        self._busy = False
        self.opened = 0  # connections opened so far (for tests and benches)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """As `post`, on the kept connection."""
        if self._busy:
            return await post(self._socket_path, path, body)
        self._busy = True
        try:
            reused = self._sock is not None and _idle_and_open(self._sock)
            if not reused:
                self.close()
            try:
                return await self._exchange(path, body)
            except (Closed, ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise
                return await self._exchange(path, body)  # on a new connection
        finally:
            self._busy = False

    async def _exchange(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.setblocking(False)
            self.opened += 1
            try:
                await _connect(self._sock, str(self._socket_path))
            except BaseException:
                self.close()
                raise
        sock = self._sock
        try:
            await _send_all(sock, request_bytes(path, body, keep=True))
            status, answer, keep = await _receive(sock)
        except BaseException:  # cancelled or failed halfway: the connection's state is unknown
            self.close()
            raise
        if not keep:  # the daemon said it closes it
            self.close()
        return status, answer


def _idle_and_open(sock: socket.socket) -> bool:
    """Whether a kept connection between requests is still open: nothing to read on it (an
    end of input, or bytes nobody asked for, mean it is not usable)."""
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


async def post(socket_path: Path, path: str, body: bytes) -> tuple[int, bytes]:
    """(status, body) of a POST of the JSON `body`; OSError when nobody answers, BadAnswer
    when the answer is not one. The caller bounds the time it takes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        await _connect(sock, str(socket_path))
        await _send_all(sock, request_bytes(path, body))
        status, answer, _ = await _receive(sock)
        return status, answer


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


async def _receive(sock: socket.socket) -> tuple[int, bytes, bool]:
    """(status, body, whether the connection may carry another request)."""
    answer = _Answer()
    received = False
    while not answer.complete:
        try:
            data = sock.recv(READ_SIZE)
        except BlockingIOError:
            await anyio.wait_readable(sock)
            continue
        if not data:
            if answer.ended():  # a body that ends with the connection
                return answer.parser.get_status_code(), b"".join(answer.chunks), False
            if not received:
                raise Closed("the connection closed before an answer")
            raise BadAnswer("the answer was cut short")
        received = True
        try:
            answer.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, BadAnswer):
                raise exc.__context__ from None
            raise BadAnswer("not the HTTP answer expected") from None
        except httptools.HttpParserError as exc:
            raise BadAnswer(f"not the HTTP answer expected: {exc}") from None
    return answer.parser.get_status_code(), b"".join(answer.chunks), answer.keep_alive
