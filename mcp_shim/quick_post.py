"""The prompt hook's HTTP/1.1 POSTs to memoryd's socket: `KeptConnection`, one connection
kept from one prompt to the next, and `post`, a connection of its own.

A prompt hook runs in every session at once, so its request costs the shim as little as it
can. Through the shim's httpx client it cost 1.7 ms of CPU (its request and response models,
the connection pool); here h11 (the sans-IO HTTP/1.1 library httpx is built on) frames the
request and reads the answer, over a non-blocking socket the event loop waits on
(docs/benchmarks.md). An answer larger than any hook answer is refused.
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


class Closed(BadAnswer):
    """The connection closed before any of an answer arrived."""


def request_bytes(conn: h11.Connection, path: str, body: bytes, keep: bool = False) -> bytes:
    """The request's bytes; `keep`: the connection stays open after the answer."""
    headers = [
        ("Host", "memoryd"),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
    ]
    if not keep:
        headers.append(("Connection", "close"))
    head = h11.Request(method="POST", target=path, headers=headers)
    return b"".join(
        conn.send(event) or b"" for event in (head, h11.Data(data=body), h11.EndOfMessage())
    )


class KeptConnection:
    """The prompt hook's connection to memoryd, kept open from one prompt to the next (memoryd
    keeps an idle one for KEEP_ALIVE_S: memoryd.daemon). A connection per prompt cost the
    daemon ~0.3 ms of CPU (accepting it, a protocol and a task for it, closing it), a tenth
    of what it spends on a prompt (bench/daemon_cpu.py). It carries one request at a time: a
    call while it is busy (a second prompt of the session at once) takes a connection of its
    own. One found closed (the daemon restarted, or dropped it idle) is replaced; a request it
    was closed under before any answer came is sent once more, on a new connection: memoryd
    closes an idle connection only, never one with a request in it."""

    def __init__(self, socket_path: Path) -> None:
        self._socket_path = socket_path
        self._open: tuple[socket.socket, h11.Connection] | None = None
        self._busy = False
        self.opened = 0  # connections opened so far (for tests and benches)

    def close(self) -> None:
        if self._open is not None:
            self._open[0].close()
            self._open = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """As `post`, on the kept connection."""
        if self._busy:
            return await post(self._socket_path, path, body)
        self._busy = True
        try:
            reused = self._open is not None and _idle_and_open(self._open[0])
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
        if self._open is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(False)
            self._open = (sock, h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_ANSWER))
            self.opened += 1
            try:
                await _connect(sock, str(self._socket_path))
            except BaseException:
                self.close()
                raise
        assert self._open is not None
        sock, conn = self._open
        try:
            await _send_all(sock, request_bytes(conn, path, body, keep=True))
            answer = await _receive(sock, conn)
        except h11.ProtocolError as exc:
            self.close()
            raise BadAnswer(f"not the HTTP answer expected: {exc}") from None
        except BaseException:  # cancelled or failed halfway: the connection's state is unknown
            self.close()
            raise
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        else:  # the daemon said it closes it
            self.close()
        return answer


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
                data = sock.recv(READ_SIZE)
            except BlockingIOError:
                await anyio.wait_readable(sock)
                continue
            if not data and status == 0:
                raise Closed("the connection closed before an answer")
            conn.receive_data(data)
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
