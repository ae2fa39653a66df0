"""The HTTP/1.1 answer to the prompt hook's one request (quick_post.py), read as bytes arrive.

The request says `Connection: close` and nothing but memoryd should answer on its socket, so
the reading needed is small: a status line, header lines, a blank line, and a body framed by
Content-Length or by the end of the connection. Everything else is refused as not the answer
expected, and the hook then injects nothing: a chunked body (memoryd's hook answers carry a
length), a body cut short, a head or body larger than any hook answer, a line that is not
HTTP. No answer of 1xx is expected either (the request sends no `Expect`): it is a status
that is not 200, which the hook does not pass on.
"""

from __future__ import annotations

import re

MAX_ANSWER = 1 << 20  # a hook answer is under 10,000 characters; anything larger is not one
HEAD_END = b"\r\n\r\n"
STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-5][0-9][0-9])(?: [^\r\n]*)?")
HEADER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*?)[ \t]*")
NO_BODY = {204, 304}


class BadAnswer(Exception):
    """What answered is not the HTTP/1.1 answer expected."""


class Answer:
    """Fed the bytes read from the connection; says (status, body) once it has them all."""

    def __init__(self) -> None:
        self._received = bytearray()
        self._status = 0
        self._body_at = -1  # where the body starts, once the head is read
        self._length: int | None = None  # the body's Content-Length, if it has one

    def feed(self, data: bytes) -> tuple[int, bytes] | None:
        """(status, body) once the answer is complete, else None: read on."""
        self._received += data
        if len(self._received) > MAX_ANSWER:
            raise BadAnswer("the answer is too long")
        if self._body_at < 0:
            end = self._received.find(HEAD_END)
            if end < 0:
                if not b"HTTP/1.".startswith(bytes(self._received[:7])):
                    raise BadAnswer("not an HTTP answer")  # no need to wait for its end
                return None
            self._read_head(bytes(self._received[:end]))
            self._body_at = end + len(HEAD_END)
        if self._length is not None and len(self._received) - self._body_at >= self._length:
            start = self._body_at
            return self._status, bytes(self._received[start : start + self._length])
        return None

    def at_end(self) -> tuple[int, bytes]:
        """The connection ended: (status, body) if that completes the answer."""
        if self._body_at < 0:
            raise BadAnswer("the answer was cut short" if self._received else "no answer")
        if self._length is not None:
            raise BadAnswer("the answer was cut short")
        return self._status, bytes(self._received[self._body_at :])  # ends with the connection

    def _read_head(self, head: bytes) -> None:
        status_line, *header_lines = head.split(b"\r\n")
        found = STATUS_LINE.fullmatch(status_line)
        if found is None:
            raise BadAnswer("not an HTTP answer")
        self._status = int(found[1])
        lengths = set()
        for line in header_lines:
            header = HEADER_LINE.fullmatch(line)
            if header is None:
                raise BadAnswer("a header line that is not one")
            name = header[1].lower()
            if name == b"transfer-encoding":
                raise BadAnswer("a chunked answer (memoryd's hook answers have a length)")
            if name == b"content-length":
                if not header[2].isdigit() or len(header[2]) > 9:
                    raise BadAnswer("a Content-Length that is not one")
                lengths.add(int(header[2]))
        if len(lengths) > 1:
            raise BadAnswer("two different Content-Lengths")
        if self._status in NO_BODY or self._status < 200:
            self._length = 0
        elif lengths:
            self._length = lengths.pop()
