"""The fast path (mcp_shim/fast_prompt.py) on a 2026-era connection, the one the pinned Claude
Code CLI opens: no handshake, and every request carries its envelope in `_meta`. The same
checks as tests/shim/test_fast_prompt.py: the SDK's bytes, and what is left to the SDK.

The SDK's path for the same call: the envelope with one more `_meta` member, which the SDK
ignores and the fast path never takes."""

from __future__ import annotations

import json
from typing import Any

from mcp_types.version import LATEST_HANDSHAKE_VERSION, LATEST_MODERN_VERSION

from tests import support
from tests.shim.raw_session import ENVELOPE, prompt_call, raw_session, text_of
from tests.shim.test_fast_prompt import BROKEN_ARGV, MEMORIES, PROMPTS
from tests.support import Daemon

VIA_SDK = {**ENVELOPE, "x-test": 1}
VERSION = "io.modelcontextprotocol/protocolVersion"


def enveloped(request_id: object, arguments: object, envelope: Any = ENVELOPE) -> bytes:
    return prompt_call(request_id, arguments, _meta=envelope)


async def test_fast_answers_are_the_sdks_byte_for_byte(daemon: Daemon) -> None:
    for content in MEMORIES:
        support.store(daemon.client(), content, category="preferences")
    async with raw_session(daemon.home, version=LATEST_MODERN_VERSION) as shim:
        for n, prompt in enumerate(PROMPTS):
            arguments = {"prompt": prompt, "session_id": f"fast-{n}", "cwd": "/w"}
            await shim.send(enveloped(n, arguments))
            fast = await shim.raw_answer(n)
            await shim.send(enveloped(n, {**arguments, "session_id": f"sdk-{n}"}, VIA_SDK))
            assert await shim.raw_answer(n) == fast
            result = json.loads(fast)["result"]
            assert result["resultType"] == "complete"
            assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "memoryd"
            assert ("Vue" in text_of(json.loads(fast))) == (n < 2)


async def test_an_odd_envelope_gets_the_sdks_answer(daemon: Daemon) -> None:
    """Client info the SDK cannot read (it reads it as not given) and a capability of another
    shape: whichever path takes the call, the answer is the SDK's."""
    arguments = {"prompt": "build a dashboard", "session_id": "s-odd", "cwd": "/w"}
    odd = [
        {**ENVELOPE, "io.modelcontextprotocol/clientInfo": 5},
        {**ENVELOPE, "io.modelcontextprotocol/clientCapabilities": {"roots": 3}},
        {k: v for k, v in ENVELOPE.items() if not k.endswith("clientInfo")},
    ]
    async with raw_session(daemon.home, version=LATEST_MODERN_VERSION) as shim:
        for n, envelope in enumerate(odd):
            await shim.send(enveloped(n, arguments, envelope))
            await shim.send(enveloped(f"sdk-{n}", arguments, {**envelope, "x-test": 1}))
            fast = json.loads(await shim.raw_answer(n))
            sdk = json.loads(await shim.raw_answer(f"sdk-{n}"))
            assert {**fast, "id": None} == {**sdk, "id": None}, envelope


async def test_the_fast_path_takes_only_the_connections_own_era(daemon: Daemon) -> None:
    arguments = {"prompt": "build a dashboard", "session_id": "s-era", "cwd": "/w"}
    async with raw_session(daemon.home, argv=BROKEN_ARGV, version=LATEST_MODERN_VERSION) as shim:
        await shim.send(enveloped(1, arguments))
        assert text_of(await shim.answer(1)) == "{}"  # the fast path's: the SDK's is broken
        await shim.send(enveloped(2, arguments, VIA_SDK))
        assert "the SDK's tool path ran" in (await shim.answer(2))["result"]["content"][0]["text"]
        await shim.send(prompt_call(3, arguments))  # no envelope: refused by the SDK
        assert (await shim.answer(3))["error"]["code"] == -32602
        older = {**ENVELOPE, VERSION: LATEST_HANDSHAKE_VERSION}  # not a 2026 version
        await shim.send(enveloped(4, arguments, older))
        assert "error" in await shim.answer(4)
    async with raw_session(daemon.home, argv=BROKEN_ARGV) as shim:  # the handshake's era
        await shim.send(enveloped(5, arguments))
        assert (await shim.answer(5))["error"]["code"] == -32600  # the SDK's refusal
        await shim.send(prompt_call(6, arguments))
        assert text_of(await shim.answer(6)) == "{}"
