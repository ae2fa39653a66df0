"""The shim's stdio framing: every request line gets an answer, even one the SDK cannot read.

The MCP SDK validates each line and, when a line fails (a lone surrogate escape, an integer of
thousands of digits, arrays nested 100,000 deep), its stdio transport logs it and drops it. A
dropped request is never answered, so Claude Code waits for it until its own timeout. The
shim's transport (stdio.py) validates each line the same way and, for a line that fails but
still names a request id, answers that id with a JSON-RPC error itself. Lines without an id
(notifications, garbage) go on to the session as the SDK's transport hands them on.
"""

from __future__ import annotations

import json

import mcp_types as types

# Where a request's id is looked for: it sits near the start of every frame a client writes.
ID_SCAN_CHARS = 4096
MAX_STRING_ID = 256
MAX_INT_ID = 2**53


def frame_problem(line: str) -> str | None:
    """Why the transport will refuse this line, or None if it will accept it."""
    try:
        types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    except Exception as exc:  # the transport refuses on any exception, so do we
        return _problem(exc)
    return None


def _problem(exc: Exception) -> str:
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return first[:200]


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
    if isinstance(value, bool) or not isinstance(value, int | str) or not answerable_id(value):
        return None
    return value


def answerable_id(value: int | str) -> bool:
    """An id the shim answers itself (here and in fast_prompt.py): an integer short enough
    for any client's JSON, or a string that encodes (no lone surrogate)."""
    if isinstance(value, int):
        return abs(value) < MAX_INT_ID
    return encodable(value)


def encodable(text: str) -> bool:
    """False for a lone surrogate, which a JSON escape can make and the SDK refuses."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def refusal(found: int | str, exc: Exception) -> types.JSONRPCError:
    """The JSON-RPC error answering request `found`, whose line failed validation with `exc`."""
    return types.JSONRPCError(
        jsonrpc="2.0",
        id=found,
        error=types.ErrorData(
            code=types.INVALID_REQUEST,
            message=f"the request could not be read: {_problem(exc)}",
        ),
    )
