"""One HTTP/1.1 POST to memoryd's socket on a connection of its own, for the prompt hook.

Through the shim's httpx client a hook call cost the shim 1.7 ms of CPU (its request and
response models, the connection pool), 1.1 ms of it the request (docs/benchmarks.md). A
prompt hook runs in every session at once, so it sends its one request with h11 (the sans-IO
HTTP/1.1 library httpx itself is built on) over a plain anyio stream: no pool, no client
models. `Connection: close`; an answer larger than a hook answer can be is refused.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import anyio.abc
import h11

MAX_ANSWER = 1 << 20  # a hook answer is under 10,000 characters; anything larger is not one


class BadAnswer(Exception):
    """What answered is not the HTTP/1.1 answer expected."""


async def post(socket_path: Path, path: str, body: bytes) -> tuple[int, bytes]:
    """(status, body) of a POST of the JSON `body`; OSError when nobody answers, BadAnswer
    when the answer is not one. The caller bounds the time it takes."""
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_ANSWER)
    request = h11.Request(
        method="POST",
        target=path,
        headers=[
            ("Host", "memoryd"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ],
    )
    sent = conn.send(request) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
    async with await anyio.connect_unix(socket_path) as stream:
        await stream.send(sent)
        try:
            return await _answer(conn, stream)
        except h11.ProtocolError as exc:
            raise BadAnswer(f"not an HTTP answer: {exc}") from None


async def _answer(conn: h11.Connection, stream: anyio.abc.ByteStream) -> tuple[int, bytes]:
    status = 0
    chunks: list[bytes] = []
    size = 0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                data = await stream.receive()
            except anyio.EndOfStream:
                data = b""
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
