"""One HTTP/1.1 POST to memoryd's socket on a connection of its own, for the prompt hook.

Through the shim's httpx client a hook call cost the shim 1.7 ms of CPU (its request and
response models, the connection pool), 1.1 ms of it the request; written by hand, as here,
1.1 ms in all (docs/benchmarks.md). A prompt hook runs in every session at once, so it writes
its one request and reads the answer itself, as the command hook does (hooks/_memory_hook.py
`exchange`): `Connection: close`, and the answer read to its Content-Length. An answer of
another form (chunked, say) is refused: the daemon's hook answers always carry a
Content-Length, and the hook then injects nothing.
"""

from __future__ import annotations

from pathlib import Path

import anyio

MAX_ANSWER = 1 << 20  # a hook answer is under 10,000 characters; anything larger is not one


class BadAnswer(Exception):
    """What answered is not the plain HTTP/1.1 answer expected."""


async def post(socket_path: Path, path: str, body: bytes) -> tuple[int, bytes]:
    """(status, body) of a POST of the JSON `body`; OSError when nobody answers, BadAnswer
    when the answer is not one. The caller bounds the time it takes."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: memoryd\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    async with await anyio.connect_unix(socket_path) as stream:
        await stream.send(head + body)
        received = b""
        while True:
            try:
                received += await stream.receive()
            except anyio.EndOfStream:
                break
            if len(received) > MAX_ANSWER:
                raise BadAnswer("the answer is too long")
            answer = _complete(received)
            if answer is not None:
                return answer
    answer = _complete(received)
    if answer is None:
        raise BadAnswer("the answer was cut short")
    return answer


def _complete(received: bytes) -> tuple[int, bytes] | None:
    """(status, body) once `received` holds a whole answer, else None."""
    head, sep, rest = received.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise BadAnswer("not an HTTP answer")
    status = int(parts[1])
    length = 0 if status in (204, 304) else None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length" and value.strip().isdigit():
            length = int(value)
        elif name == b"transfer-encoding":
            raise BadAnswer("a chunked answer")
    if length is None:
        raise BadAnswer("an answer without a Content-Length")
    return (status, rest[:length]) if len(rest) >= length else None
