"""The bench's stand-in for Claude Code's side of an `mcp_tool` hook: JSON-RPC lines written
to and read from a running shim's stdio, with no client library in between.

The MCP SDK's Python client costs ~1 ms of CPU per call (its request and result models), and
8 of them in the bench's one process answer one after another: that time lands in every
burst's p95 although Claude Code, one node process per session, spends it elsewhere. A line
of JSON each way is what Claude Code's client does too; the shim's side is the real one.

Two eras of the protocol: the handshake (`initialize`, then plain requests) and the 2026 one
the pinned Claude Code CLI speaks (no handshake; every request carries the per-request
envelope in `_meta`, the first one opening the session), `RawShim(process, modern=True)`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
from hook_load import Samples
from mcp_types.version import LATEST_HANDSHAKE_VERSION, LATEST_MODERN_VERSION

from tests.shim.raw_session import ENVELOPE, RawSession, request

BURST_PAUSE = 0.1  # as hook_load.BURST_PAUSE: between two bursts


def _stop(process: anyio.abc.Process) -> None:
    with contextlib.suppress(ProcessLookupError):  # it may have exited at its stdin's end
        process.terminate()


class RawShim:
    """One running shim, spoken to in JSON-RPC lines (the tests' RawSession, which opens the
    session in either era); `modern`: in the 2026 protocol, the envelope in every request."""

    def __init__(self, process: anyio.abc.Process, modern: bool = False) -> None:
        self.session = RawSession(process)
        self.modern = modern
        self._ids = iter(range(1, 10**9))

    async def request(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        ident = next(self._ids)
        sent = {**params, "_meta": ENVELOPE} if self.modern else dict(params)
        await self.session.send(request(ident, method, sent))
        answer = await self.session.answer(ident)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return dict(answer["result"])

    async def start(self) -> None:
        await self.session.start(LATEST_MODERN_VERSION if self.modern else LATEST_HANDSHAKE_VERSION)

    async def close(self) -> None:
        """End its stdin: the shim exits as Claude Code's would at the session's end."""
        await self.session.end()

    async def call_text(self, tool: str, arguments: Mapping[str, Any]) -> str:
        """The text of a tool's result; an error result fails."""
        result = await self.request("tools/call", {"name": tool, "arguments": arguments})
        assert not result.get("isError"), result
        return str(result["content"][0]["text"])


async def bursts(
    argv: list[str],
    env: Mapping[str, str],
    cwd: Path,
    calls: list[tuple[str, dict[str, Any]]],
    sessions: int,
    check: Callable[[str], object],
    beside: Callable[[], None] | None = None,
    shims_cpu: Callable[[], float] | None = None,
    modern: bool = False,
) -> Samples:
    """`sessions` running shims each make one of `calls` (tool, arguments) at the same
    instant, then the burst pause, repeated; each answer's text goes to `check`. With
    `beside`, each burst also runs `beside()` `sessions` times at the same instant, in threads
    (bare interpreters started in the same burst: they see the same load). With `shims_cpu`
    (the running shims' CPU seconds so far), `cpu` holds the shims' CPU per call. `modern`:
    the 2026 protocol, as the pinned Claude Code CLI speaks it."""
    out = Samples()

    async def one(shim: RawShim, tool: str, arguments: dict[str, Any]) -> None:
        started = time.perf_counter()
        text = await shim.call_text(tool, arguments)
        out.wall.append(time.perf_counter() - started)
        check(text)

    async with contextlib.AsyncExitStack() as stack:
        shims = []
        for _ in range(sessions):
            process = await stack.enter_async_context(
                await anyio.open_process(argv, env=dict(env), cwd=cwd)
            )
            stack.callback(_stop, process)
            shim = RawShim(process, modern)
            await shim.start()
            shims.append(shim)
        for shim in shims:  # warm up
            await one(shim, *calls[0])
        out.wall.clear()
        before = shims_cpu() if shims_cpu else 0.0
        for start in range(0, len(calls) - sessions + 1, sessions):
            async with anyio.create_task_group() as group:
                for shim, call in zip(shims, calls[start : start + sessions], strict=True):
                    group.start_soon(one, shim, *call)
                    if beside is not None:
                        group.start_soon(anyio.to_thread.run_sync, beside)
            await anyio.sleep(BURST_PAUSE)
        if shims_cpu:
            out.cpu.append((shims_cpu() - before) / len(out.wall))
        for shim in shims:
            await shim.close()
    return out
