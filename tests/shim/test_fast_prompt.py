"""The transport's fast path for memory_prompt_context (mcp_shim/fast_prompt.py), through real
shims on real pipes against a real daemon (or a stand-in on its socket): what it answers is
what the SDK answers for the same call, byte for byte; what it does not take the SDK answers
as before; calls run at once, each answered under its own id; a cancelled one is never
answered.

Which path answered: a call whose params also hold an empty `_meta` means the same and is the
SDK's (the fast path never takes `_meta`); and a shim whose SDK tool path is broken on
purpose (SDK_PATH_BROKEN) shows which calls the fast path took."""

from __future__ import annotations

import json
import sys
from typing import Any

from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from tests import support
from tests.shim.helpers import stop_daemons
from tests.shim.raw_session import (
    StandIn,
    notification,
    prompt_call,
    raw_session,
    request,
    text_of,
)
from tests.support import Daemon, short_tmpdir

SDK_PATH_BROKEN = """
from mcp_shim.server import ShimServer

async def broken(self, name, arguments, context=None):
    raise RuntimeError("the SDK's tool path ran")

ShimServer.call_tool = broken
from mcp_shim.main import main
raise SystemExit(main())
"""
BROKEN_ARGV = [sys.executable, "-c", SDK_PATH_BROKEN]
VIA_SDK: dict[str, Any] = {"_meta": {}}

# Content the hook's answer quotes back: quotes, backslashes, newlines, non-ASCII.
MEMORIES = [
    'The "orders" dashboard uses Vue with Nuxt; its C:\\builds path\nis on the second line',
    "Die Bestellübersicht nutzt Vue — «Nuxt» für das Dashboard 🎉 (naïve café)",
]
PROMPTS = [
    "build the orders dashboard with vue",
    'Die "Bestellübersicht"\nmit Vue 🎉 bauen — «Nuxt»? \\ done',
    "thanks, that worked!",  # nothing to inject: the daemon answers 204
]


def without_id(line: bytes) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(line)
    message.pop("id")
    return message


async def test_fast_answers_are_the_sdks_byte_for_byte(daemon: Daemon) -> None:
    for content in MEMORIES:
        support.store(daemon.client(), content, category="preferences")
    for version in HANDSHAKE_PROTOCOL_VERSIONS:
        async with raw_session(daemon.home, version=version, MEMORY_HOOK_TIMEOUT="10") as shim:
            for n, prompt in enumerate(PROMPTS):
                for request_id in (n, f"ïd-{n}"):
                    session = f"{version}-{request_id}"
                    arguments = {"prompt": prompt, "session_id": f"fast-{session}", "cwd": "/w"}
                    await shim.send(prompt_call(request_id, arguments))
                    fast = await shim.raw_answer(request_id)
                    # The same call through the SDK, in a session of its own (a session is
                    # told a memory once), under the same id: the same bytes.
                    arguments["session_id"] = f"sdk-{session}"
                    await shim.send(prompt_call(request_id, arguments, **VIA_SDK))
                    assert await shim.raw_answer(request_id) == fast, version
                    text = text_of(json.loads(fast))
                    if n < 2:
                        context = json.loads(text)["hookSpecificOutput"]["additionalContext"]
                        assert "Vue" in context
                    else:
                        assert text == "{}"


async def test_the_fast_path_answers_what_it_takes(daemon: Daemon) -> None:
    """With the SDK's tool path broken on purpose, the calls the fast path takes still answer
    and everything else meets the broken path."""
    support.store(daemon.client(), "The orders dashboard uses Vue with Nuxt")
    arguments = {"prompt": "the orders dashboard in vue", "session_id": "s-1", "cwd": "/tmp"}
    async with raw_session(daemon.home, argv=BROKEN_ARGV) as shim:
        await shim.send(prompt_call(1, arguments))
        assert "Nuxt" in text_of(await shim.answer(1))
        await shim.send(prompt_call(2, {"session_id": "s-2"}))  # absent ones are ""
        assert text_of(await shim.answer(2)) == "{}"
        left_to_the_sdk = {
            3: prompt_call(3, arguments, **VIA_SDK),
            4: prompt_call(4, {**arguments, "prompt": 7}),
            5: prompt_call(5, {**arguments, "extra": "x"}),
            6: prompt_call(6, None),
            2**60: prompt_call(2**60, arguments),
        }
        for request_id, line in left_to_the_sdk.items():
            await shim.send(line)
            answer = await shim.answer(request_id)
            assert answer["result"]["isError"] is True, answer
            assert "the SDK's tool path ran" in answer["result"]["content"][0]["text"]


async def test_calls_the_fast_path_leaves_get_todays_answers(daemon: Daemon) -> None:
    arguments = {"prompt": "build a dashboard", "session_id": "s-odd", "cwd": "/tmp"}
    async with raw_session(daemon.home) as shim:
        await shim.send(prompt_call(1, {**arguments, "prompt": 7}))
        answer = await shim.answer(1)
        assert answer["result"]["isError"] is True
        message = answer["result"]["content"][0]["text"]
        assert message.startswith("invalid arguments for memory_prompt_context: 'prompt'")
        # An unknown argument is ignored by the SDK's argument model: answered as without it.
        await shim.send(prompt_call(2, {**arguments, "session_id": "s-2", "extra": True}))
        await shim.send(prompt_call(3, {**arguments, "session_id": "s-3"}))
        assert without_id(await shim.raw_answer(2)) == without_id(await shim.raw_answer(3))
        for request_id, missing in ((4, "session_id"), (5, "prompt"), (6, "cwd")):
            partial = {k: v for k, v in arguments.items() if k != missing}
            await shim.send(prompt_call(request_id, partial))
            await shim.send(prompt_call(f"sdk-{request_id}", partial, **VIA_SDK))
            fast = without_id(await shim.raw_answer(request_id))
            assert fast == without_id(await shim.raw_answer(f"sdk-{request_id}")), missing


async def test_before_initialize_a_call_is_the_sdks_to_refuse(daemon: Daemon) -> None:
    arguments = {"prompt": "build a dashboard", "session_id": "s-early", "cwd": "/tmp"}
    async with raw_session(daemon.home, start=False) as shim:
        await shim.send(prompt_call(1, arguments))
        early = await shim.answer(1)
        assert early["error"]["code"] == -32602, early  # the SDK's "Invalid request parameters"
        await shim.start()
        await shim.send(prompt_call(2, arguments))
        assert text_of(await shim.answer(2)) == "{}"


async def test_daemon_down_fails_open_the_same_way(daemon: Daemon) -> None:
    arguments = {"prompt": "build a dashboard", "session_id": "s-down", "cwd": "/tmp"}
    try:
        async with raw_session(daemon.home) as shim:
            daemon.stop()
            await shim.send(prompt_call(1, arguments))
            fast = await shim.raw_answer(1)
            await shim.send(prompt_call(1, arguments, **VIA_SDK))
            assert await shim.raw_answer(1) == fast
            assert text_of(json.loads(fast)) == "{}"
            await shim.end()
    finally:
        stop_daemons(daemon.home)
    told = (daemon.home / "shim.err").read_text()
    assert told.count("memoryd prompt hook: nothing injected: memoryd did not answer") == 2


async def test_calls_run_at_once_each_answered_under_its_own_id() -> None:
    """Eight calls written at once; the stand-in answers none until all eight are connected,
    so they can only be answered if they run at the same time."""
    home = short_tmpdir("fp")
    ids: list[object] = [1, "two", 3, "4", 5, "six", -7, ""]
    with StandIn(home / "run" / "d.sock", together=len(ids)):
        async with raw_session(home, MEMORY_HOOK_TIMEOUT="15") as shim:
            await shim.send(
                *(prompt_call(i, {"prompt": "p", "session_id": f"s{n}"}) for n, i in enumerate(ids))
            )
            for n, request_id in enumerate(ids):
                text = text_of(await shim.answer(request_id))
                assert json.loads(text)["hookSpecificOutput"]["additionalContext"] == f"for s{n}"
            rest = await shim.end()
    assert rest == []  # one answer each


async def test_a_cancelled_call_is_never_answered() -> None:
    home = short_tmpdir("fp")
    with StandIn(home / "run" / "d.sock", hold=True) as stand_in:
        async with raw_session(home, MEMORY_HOOK_TIMEOUT="30") as shim:
            await shim.send(prompt_call(1, {"prompt": "p", "session_id": "s-1"}))
            # Cancelled by a stringified id, as the SDK matches it.
            await shim.send(notification("notifications/cancelled", {"requestId": "1"}))
            assert stand_in.closed_by_shim.acquire(timeout=20)  # the call gave up its request
            await shim.send(request(2, "ping"))
            assert (await shim.answer(2))["result"] == {}
            rest = await shim.end()
    assert rest == []


async def test_at_the_end_of_input_running_calls_are_answered_as_the_sdk_does() -> None:
    home = short_tmpdir("fp")
    arguments = {"prompt": "p", "session_id": "s-1"}
    with StandIn(home / "run" / "d.sock", hold=True) as stand_in:
        async with raw_session(home, MEMORY_HOOK_TIMEOUT="30") as shim:
            await shim.send(prompt_call(1, arguments), prompt_call(2, arguments, **VIA_SDK))
            for _ in range(2):  # both requests reached the stand-in: both calls are running
                assert stand_in.connected.acquire(timeout=20)
            rest = await shim.end()
    by_id = {answer["id"]: answer for answer in rest}
    assert sorted(by_id) == [1, 2]
    closed = {"code": -32000, "message": "Connection closed"}
    assert by_id[1]["error"] == by_id[2]["error"] == closed
