"""The shim's stdio framing: every request line gets an answer, even one the SDK cannot read.

The MCP SDK's stdio transport validates each line and, when a line fails (a lone surrogate
escape, an integer of thousands of digits, arrays nested 100,000 deep), logs it and drops it.
A dropped request is never answered, so Claude Code waits for it until its own timeout. The
shim reads stdin through `FrameScreen`, which checks each line the way the transport will and,
for a line that fails but still names a request id, answers that id with a JSON-RPC error
itself. Lines without an id (notifications, garbage) go on to the transport unchanged.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from io import TextIOWrapper
from typing import Any, cast

import anyio
import mcp_types as types
from anyio.abc import ObjectSendStream
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage

# Where a request's id is looked for: it sits near the start of every frame a client writes.
ID_SCAN_CHARS = 4096
MAX_STRING_ID = 256

Streams = tuple[Any, ObjectSendStream[SessionMessage]]


def frame_problem(line: str) -> str | None:
    """Why the transport will refuse this line, or None if it will accept it."""
    try:
        types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    except Exception as exc:  # the transport refuses on any exception, so do we
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return first[:200]
    return None


def request_id(line: str) -> int | str | None:
    """The top-level `"id"` of a frame that may not parse, found by scanning its start.

    Only a member of the outermost object counts (arguments may hold their own `id`), and only
    a short integer or string: anything else cannot be answered reliably.
    """
    depth, in_string, escaped, start = 0, False, False, 0
    head = line[:ID_SCAN_CHARS]
    for index, char in enumerate(head):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
                if depth == 1 and head[start : index + 1] == '"id"':
                    return _id_value(head[index + 1 :])
            continue
        if char == '"':
            in_string, start = True, index
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
    return None


def _id_value(rest: str) -> int | str | None:
    rest = rest.lstrip()
    if not rest.startswith(":"):
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(rest[1:].lstrip()[: MAX_STRING_ID + 2])
    except ValueError:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    if isinstance(value, int) and abs(value) >= 2**53:
        return None
    if isinstance(value, str) and not _encodable(value):
        return None
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class FrameScreen:
    """An async iterator of stdin lines for the SDK transport, answering the unreadable ones."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self._lines = lines
        self._answers: ObjectSendStream[SessionMessage] | None = None
        self._ready = anyio.Event()

    def answer_with(self, write_stream: ObjectSendStream[SessionMessage]) -> None:
        self._answers = write_stream
        self._ready.set()

    def __aiter__(self) -> FrameScreen:
        return self

    async def __anext__(self) -> str:
        while True:
            line = await self._lines.__anext__()
            problem = frame_problem(line)
            found = None if problem is None else request_id(line)
            if found is None:
                return line
            await self._refuse(found, problem or "")

    async def _refuse(self, found: int | str, problem: str) -> None:
        await self._ready.wait()
        assert self._answers is not None
        error = types.JSONRPCError(
            jsonrpc="2.0",
            id=found,
            error=types.ErrorData(
                code=types.INVALID_REQUEST,
                message=f"the request could not be read: {problem}",
            ),
        )
        await self._answers.send(SessionMessage(error))


@asynccontextmanager
async def screened_stdio() -> AsyncIterator[Streams]:
    """`stdio_server` reading stdin through a `FrameScreen`; stdout is the SDK's own."""
    text = TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    screen = FrameScreen(aiter(anyio.wrap_file(text)))
    async with stdio_server(stdin=cast(Any, screen)) as (read_stream, write_stream):
        screen.answer_with(write_stream)
        yield read_stream, write_stream
