"""Which lines the fast path takes (mcp_shim/fast_prompt.py `prompt_call`): exactly the
`memory_prompt_context` calls the SDK would run unchanged; every other line is the SDK's. And
the frames it writes are the SDK's own serialisation of the same messages."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types
import pytest

from mcp_shim.fast_prompt import PromptCall, answer_frame, closed_frame, prompt_call

VERSION = "io.modelcontextprotocol/protocolVersion"
ENVELOPE = {
    VERSION: "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "claude-code", "version": "2"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
ARGUMENTS = {"prompt": 'a "quoted"\nprompt — ünïcode 🎉 \\', "session_id": "s-1", "cwd": "/w"}


def line(message: Any) -> str:
    return json.dumps(message) + "\n"


def call(request_id: Any = 1, arguments: Any = ARGUMENTS, **params: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "memory_prompt_context", "arguments": arguments, **params},
    }


@pytest.mark.parametrize("request_id", [1, 0, -5, 2**53 - 1, "abc", "", "ïd", "x" * 300])
def test_it_takes_the_plain_call(request_id: object) -> None:
    taken = prompt_call(line(call(request_id)))
    assert taken == PromptCall(request_id, *ARGUMENTS.values())  # type: ignore[arg-type]
    # Compact or spaced, keys in any order: the same call.
    message = call(request_id)
    spaced = json.dumps(dict(reversed(message.items())), ensure_ascii=False, indent=1)
    assert prompt_call(spaced.replace("\n", " ")) == taken


def test_absent_arguments_are_empty_as_the_tool_declares() -> None:
    assert prompt_call(line(call(7, {}))) == PromptCall(7, "", "", "")
    assert prompt_call(line(call(7, {"session_id": "s"}))) == PromptCall(7, "", "s", "")


def test_it_takes_the_call_with_a_2026_envelope() -> None:
    taken = prompt_call(line(call(3, _meta=ENVELOPE)))
    assert taken == PromptCall(3, *ARGUMENTS.values())  # type: ignore[arg-type]
    assert taken is not None and taken.envelope == ENVELOPE
    assert prompt_call(line(call(3))) is not None
    assert prompt_call(line(call(3))).envelope is None  # type: ignore[union-attr]
    without_info = {k: v for k, v in ENVELOPE.items() if not k.endswith("clientInfo")}
    assert prompt_call(line(call(3, _meta=without_info))) is not None


def with_top(**members: Any) -> dict[str, Any]:
    return {**call(), **members}


LEFT_TO_THE_SDK = {
    "another tool": {**call(), "params": {"name": "memory_recall", "arguments": ARGUMENTS}},
    "another method": with_top(method="tools/list"),
    "a notification": {k: v for k, v in call().items() if k != "id"},
    "a bool id": call(True),
    "a float id": call(1.0),
    "a huge id": call(2**53),
    "a null id": call(None),
    "a jsonrpc version": with_top(jsonrpc="1.0"),
    "a member more": with_top(extra=1),
    "_meta": call(_meta={}),
    "a progress token": call(_meta={"progressToken": 1}),
    "an envelope and a progress token": call(_meta={**ENVELOPE, "progressToken": 1}),
    "an envelope and more": call(_meta={**ENVELOPE, "io.modelcontextprotocol/logLevel": "x"}),
    "an envelope of 2025": call(_meta={**ENVELOPE, VERSION: "2025-06-18"}),
    "an envelope without capabilities": call(
        _meta={k: v for k, v in ENVELOPE.items() if not k.endswith("Capabilities")}
    ),
    "_meta a list": call(_meta=[ENVELOPE]),
    "requestState": call(requestState="x"),
    "no arguments": {**call(), "params": {"name": "memory_prompt_context"}},
    "no name": {**call(), "params": {"arguments": {"prompt": "memory_prompt_context"}}},
    "a name and no more": {**call(), "params": {"tool": "memory_prompt_context"}},
    "null arguments": call(arguments=None),
    "a list of arguments": call(arguments=["p"]),
    "an int prompt": call(arguments={**ARGUMENTS, "prompt": 7}),
    "a null cwd": call(arguments={**ARGUMENTS, "cwd": None}),
    "an unknown argument": call(arguments={**ARGUMENTS, "budget": "9"}),
    "params a list": {**call(), "params": ["memory_prompt_context"]},
    "a batch": [call()],
}


@pytest.mark.parametrize("message", LEFT_TO_THE_SDK.values(), ids=LEFT_TO_THE_SDK.keys())
def test_everything_else_is_left_to_the_sdk(message: Any) -> None:
    assert prompt_call(line(message)) is None


@pytest.mark.parametrize(
    "text",
    [
        line(call()).replace("s-1", "\\ud800"),  # a lone surrogate: the SDK refuses the line
        line(call()).replace('"id": 1', '"id": NaN'),  # not JSON: Python reads it
        line(call()).replace('"id": 1', '"id": NaN, "id": 1'),  # the SDK refuses it
        line(call()).replace("}}}", "}}"),  # cut short
        "\ufeff" + line(call()),
        "",
        "memory_prompt_context\n",
    ],
)
def test_lines_python_reads_otherwise_than_the_sdk_are_left_to_it(text: str) -> None:
    assert prompt_call(text) is None


def test_a_surrogate_pair_is_a_character_not_a_refusal() -> None:
    text = line(call()).replace("s-1", "\\ud83c\\udf89")
    assert prompt_call(text) == PromptCall(1, ARGUMENTS["prompt"], "🎉", "/w")


@pytest.mark.parametrize("request_id", [1, 'ïd "q"', -3])
def test_the_frames_are_the_sdks_bytes(request_id: int | str) -> None:
    """The response as the transport's writer dumps the SDK's: the result the SDK makes of the
    tool's return at every handshake version (that is tests/shim/test_fast_prompt.py's to
    show), escaped the same whatever the text holds. And the SDK's "Connection closed"."""
    text = "".join(map(chr, range(0x30))) + '\x7f\u2028\ufeff/<>&\'"\\ é 🎉 {"a": "\\n"}'
    result = {"content": [{"text": text, "type": "text"}], "isError": False}
    sdk = types.JSONRPCResponse(jsonrpc="2.0", id=request_id, result=result)
    assert answer_frame(request_id, text) == dumped(sdk)
    error = types.ErrorData(code=types.CONNECTION_CLOSED, message="Connection closed")
    closed = types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error)
    assert closed_frame(request_id) == dumped(closed)


def dumped(message: types.JSONRPCResponse | types.JSONRPCError) -> bytes:
    """As mcp_shim/stdio.py's writer writes the SDK's messages."""
    return message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n"
