"""The transport's fast path for `memory_prompt_context`, the call Claude Code makes on every
prompt of every session (prompt_hook.py).

Through the MCP SDK one such call cost the shim 0.2–0.3 ms of CPU beyond the hook's own work:
the request line validated into pydantic models, the dispatcher's and the session's request
handling, the tool's argument model, the result converted, checked against the protocol's
result model and dumped as JSON again (docs/benchmarks.md, `shimfast`). The transport
(stdio.py) answers a call of exactly this shape itself, with the same `prompt_context` the
tool runs and the response bytes the SDK writes for it:

    {"jsonrpc": "2.0", "id": <int or str>, "method": "tools/call",
     "params": {"name": "memory_prompt_context", "arguments": {<prompt, session_id, cwd: str>},
                "_meta": <the 2026 envelope, on a 2026 connection only>}}

once the SDK serves calls on the connection, in its era: a handshake connection after the SDK
answered `initialize`, with no `_meta`; a 2026 connection (its first request carried the
per-request envelope: the pinned Claude Code CLI's) with `_meta` holding that envelope and
nothing else, whose params the SDK's own check accepts (run once per envelope). Anything else,
down to an argument the SDK would coerce, a key it would ignore, a progress token, a bool or
float id, a string it would refuse (a lone surrogate), goes through the SDK as before: taking a
line the SDK would answer differently is the one thing the fast path must never do, so it
takes only what it can tell apart without doubt and leaves the rest.

A fast call runs as a task of its own, so the reader keeps reading. As the SDK does with its
own handlers: `notifications/cancelled` naming a fast call's id cancels it and it is never
answered (the notification goes on to the SDK too, which finds nothing of its own to cancel);
at the end of the input a call still running is cancelled and answered "Connection closed".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp_types as types
from anyio.abc import ObjectSendStream, TaskGroup
from mcp.shared.dispatcher import coerce_request_id
from mcp.shared.jsonrpc_dispatcher import cancelled_request_id_from_params
from mcp.shared.message import SessionMessage
from mcp_types.methods import validate_client_request
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcp_shim.framing import answerable_id, encodable
from mcp_shim.prompt_hook import PROMPT_TOOL, prompt_context
from mcp_shim.tool_base import ShimState

RequestId = int | str
Outgoing = SessionMessage | bytes  # bytes: a frame the fast path encoded, newline included

REQUEST_KEYS = frozenset({"jsonrpc", "id", "method", "params"})
META = "_meta"
PARAMS_KEYS = frozenset({"name", "arguments"})
ENVELOPED_PARAMS_KEYS = PARAMS_KEYS | {META}
ENVELOPE_REQUIRED = frozenset({types.PROTOCOL_VERSION_META_KEY, types.CLIENT_CAPABILITIES_META_KEY})
ENVELOPE_KEYS = ENVELOPE_REQUIRED | {types.CLIENT_INFO_META_KEY}
ARGUMENT_NAMES = frozenset({"prompt", "session_id", "cwd"})  # the tool's, each a str, "" if absent
SHUTDOWN_WRITE_TIMEOUT = 1.0  # as the SDK's dispatcher bounds its own "Connection closed"
INITIALIZE = "initialize"
HANDSHAKE, MODERN = "handshake", "modern"  # the connection's era (mcp.server.runner's)
CANCELLED = "notifications/cancelled"


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python reads them, the SDK does not


# One decoder, configured once and never changed: json.loads with an argument builds a new one
# per call.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


@dataclass(frozen=True, slots=True)
class PromptCall:
    request_id: RequestId
    prompt: str
    session_id: str
    cwd: str
    envelope: dict[str, Any] | None = field(default=None, compare=False)  # the 2026 `_meta`
    params: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def prompt_call(line: str) -> PromptCall | None:
    """The call `line` makes, when it is a `memory_prompt_context` call of the one shape the
    fast path takes; None for anything else."""
    if PROMPT_TOOL not in line:  # most lines: no parse at all
        return None
    try:
        message = _DECODER.decode(line)
    except (ValueError, RecursionError):
        return None
    if type(message) is not dict or message.keys() != REQUEST_KEYS:
        return None
    params = message["params"]
    if (
        message["jsonrpc"] != "2.0"
        or message["method"] != "tools/call"
        or type(params) is not dict
        or params.get("name") != PROMPT_TOOL
    ):
        return None
    envelope = params.get(META)
    if params.keys() != (PARAMS_KEYS if envelope is None else ENVELOPED_PARAMS_KEYS):
        return None
    if envelope is not None and not _plain_envelope(envelope):
        return None
    arguments = params["arguments"]
    request_id = message["id"]
    if (
        type(arguments) is not dict
        or not arguments.keys() <= ARGUMENT_NAMES
        or not all(type(value) is str and encodable(value) for value in arguments.values())
        or not _plain_id(request_id)
    ):
        return None
    return PromptCall(
        request_id,
        arguments.get("prompt", ""),
        arguments.get("session_id", ""),
        arguments.get("cwd", ""),
        envelope,
        params,
    )


def _plain_envelope(envelope: object) -> bool:
    """A 2026 per-request envelope and nothing else in `_meta` (no progress token, no log
    level), naming a protocol version the SDK serves in that era."""
    return (
        type(envelope) is dict
        and ENVELOPE_REQUIRED <= envelope.keys() <= ENVELOPE_KEYS
        and envelope[types.PROTOCOL_VERSION_META_KEY] in MODERN_PROTOCOL_VERSIONS
    )


def _enveloped(params: dict[str, Any] | None) -> bool:
    """A 2026 request, as the SDK tells one (its protocol-version key in `_meta`)."""
    meta = (params or {}).get(META)
    return isinstance(meta, dict) and types.PROTOCOL_VERSION_META_KEY in meta


def _plain_id(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return False  # the SDK reads `"id": true` as a notification's; 1.0 it makes 1
    return answerable_id(value)


def _frame(message: dict[str, object]) -> bytes:
    # As the SDK writes it: compact, UTF-8 unescaped, one line.
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def answer_frame(
    request_id: RequestId, text: str, server_info: dict[str, Any] | None = None
) -> bytes:
    """The SDK's response to the tool returning `text`: one text block, `isError` false, no
    structured content (the same at every handshake protocol version); in the 2026 era also
    `resultType` and the server's `serverInfo` stamp."""
    result: dict[str, object] = {"content": [{"text": text, "type": "text"}], "isError": False}
    if server_info is not None:
        result["resultType"] = "complete"
        result[META] = {types.SERVER_INFO_META_KEY: server_info}
    return _frame({"jsonrpc": "2.0", "id": request_id, "result": result})


def closed_frame(request_id: RequestId) -> bytes:
    """The SDK's answer to a request still running when the input ends."""
    error = {"code": types.CONNECTION_CLOSED, "message": "Connection closed"}
    return _frame({"jsonrpc": "2.0", "id": request_id, "error": error})


class FastPrompts:
    """The fast path's part in the transport: it watches the session open (`seen`, `sent`),
    takes the calls it answers (`take`) and cancels them when asked."""

    def __init__(
        self, session_state: Callable[[], ShimState | None], server_info: dict[str, Any]
    ) -> None:
        self._session_state = session_state  # the lifespan's, once the session runs
        self._server_info = server_info  # the SDK's `serverInfo` stamp on 2026-era results
        self._era: str | None = None  # HANDSHAKE or MODERN: the first request decides
        self._initialize_id: RequestId | None = None
        self._open = False  # the SDK serves calls now: `initialize` answered, or a 2026 era
        self._envelope_checked: dict[str, Any] | None = None  # the last one the SDK accepts
        self._in_flight: dict[RequestId, anyio.CancelScope] = {}

    def seen(self, message: types.JSONRPCMessage) -> None:
        """A message the reader hands to the SDK: the first request (which decides the
        connection's era, as the SDK decides it), `initialize`, a cancellation."""
        if isinstance(message, types.JSONRPCRequest):
            if self._era is None:
                modern = message.method != INITIALIZE and _enveloped(message.params)
                self._era = MODERN if modern else HANDSHAKE
                self._open = modern  # every 2026 request stands alone: no handshake to wait
            if message.method == INITIALIZE:
                self._initialize_id = message.id
        elif isinstance(message, types.JSONRPCNotification) and message.method == CANCELLED:
            found = cancelled_request_id_from_params(message.params)
            if found is not None and (scope := self._in_flight.get(coerce_request_id(found))):
                scope.cancel()

    def sent(self, message: types.JSONRPCMessage) -> None:
        """A message the SDK writes: its result for `initialize` opens a handshake-era
        connection to the fast path."""
        if (
            not self._open
            and self._era == HANDSHAKE
            and isinstance(message, types.JSONRPCResponse)
            and self._initialize_id is not None
            and message.id == self._initialize_id
            and "protocolVersion" in message.result
        ):
            self._open = True

    def take(self, line: str, calls: TaskGroup, outgoing: ObjectSendStream[Outgoing]) -> bool:
        """True when the fast path answers `line` (in a task of `calls`); False: the SDK does."""
        if not self._open:
            return False
        call = prompt_call(line)
        if call is None or (call.envelope is None) == (self._era == MODERN):
            return False  # not the call, or the other era's: the SDK refuses that one
        if call.envelope is not None and not self._sdk_accepts(call.envelope, call.params):
            return False
        state = self._session_state()
        if state is None:
            return False
        key = coerce_request_id(call.request_id)  # as the SDK matches a cancellation's id
        scope = anyio.CancelScope()
        self._in_flight[key] = scope  # before the task starts: a cancellation may come first
        calls.start_soon(self._answer, call, state, key, scope, outgoing)
        return True

    def _sdk_accepts(self, envelope: dict[str, Any], params: dict[str, Any]) -> bool:
        """Whether the SDK's check of a 2026 request's params passes: it depends on the
        envelope alone (the name and the string arguments always pass), and a client sends
        the same one with every call, so it runs once per envelope."""
        if envelope == self._envelope_checked:
            return True
        try:
            version = envelope[types.PROTOCOL_VERSION_META_KEY]
            validate_client_request("tools/call", version, params)
        except Exception:  # whatever the SDK would refuse, it answers itself
            return False
        self._envelope_checked = envelope
        return True

    async def _answer(
        self,
        call: PromptCall,
        state: ShimState,
        key: RequestId,
        scope: anyio.CancelScope,
        outgoing: ObjectSendStream[Outgoing],
    ) -> None:
        answering = False
        try:
            try:
                with scope:
                    text = await prompt_context(state, call.prompt, call.session_id, call.cwd)
            finally:
                if self._in_flight.get(key) is scope:  # a later call may reuse the id
                    del self._in_flight[key]
            if scope.cancel_called:
                return  # the client cancelled it: never answered, as the SDK does
            answering = True
            server_info = None if call.envelope is None else self._server_info
            await outgoing.send(answer_frame(call.request_id, text, server_info))
        except anyio.get_cancelled_exc_class():
            # The input ended: answered as the SDK answers its own (unless an answer may
            # already be on its way: one answer too few, never two).
            if not answering and not scope.cancel_called:
                with (
                    anyio.move_on_after(SHUTDOWN_WRITE_TIMEOUT, shield=True),
                    suppress(anyio.BrokenResourceError, anyio.ClosedResourceError),
                ):
                    await outgoing.send(closed_frame(call.request_id))
            raise
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return  # the writer is gone: nobody to answer
