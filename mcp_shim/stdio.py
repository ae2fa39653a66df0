"""The shim's stdio transport: JSON-RPC lines read from stdin and written to stdout by the event
loop itself, each line validated once, and every request line answered (framing.py).

Why not the SDK's `stdio_server`: it reads and writes through anyio's `wrap_file`, one worker
thread hand-off per line read, per line written and per flush, three per tool call, which was
a fifth of the shim's CPU per prompt hook call (docs/benchmarks.md). Claude Code starts an MCP
server with a pipe or a socket on stdin and stdout; those are waited on by the event loop's
selector here, and stdout is made non-blocking so that a client that stops reading stalls
only the writer task, as a stalled worker thread did. Anything else (a file, a terminal,
/dev/null) is read and written in a worker thread, as the SDK does.

What it keeps of the SDK's transport: input decoded as UTF-8 with bad bytes replaced; each
line validated with `jsonrpc_message_adapter` and an unreadable one handed to the session as
its exception (the session logs it); output as `model_dump_json(by_alias=True,
exclude_unset=True)` and a newline; while serving, fd 1 points at stderr, so that a stray
print misses the wire. What it adds: an unreadable line that names a request id is answered
with a JSON-RPC error (framing.py), where the SDK drops it; and the prompt hook's calls of the
one plain shape are answered here, beside the session, with the SDK's answer to them
(fast_prompt.py): the writer writes the frames they encode themselves as they are.
"""

from __future__ import annotations

import fcntl
import os
import stat
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress

import anyio
import anyio.to_thread
import mcp_types as types
from anyio.abc import ObjectReceiveStream, ObjectSendStream
from mcp.shared.message import SessionMessage

from mcp_shim.fast_prompt import FastPrompts, Outgoing
from mcp_shim.framing import refusal, request_id

READ_SIZE = 1 << 16

Incoming = SessionMessage | Exception


def pollable(fd: int) -> bool:
    """A pipe or a socket: something the event loop's selector can wait on."""
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


class LineReader:
    """The lines of a file descriptor, decoded, read on the event loop when it is pollable."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._on_loop = pollable(fd)
        self._buffer = bytearray()
        self._scanned = 0  # the buffer holds no newline before this
        self._ended = False

    async def _read(self) -> bytes:
        if not self._on_loop:
            return await anyio.to_thread.run_sync(os.read, self._fd, READ_SIZE)
        # Readable means a read returns at once (data or end of input): no O_NONBLOCK needed
        # on a descriptor the shim shares with whoever started it. Should whoever started it
        # have made it non-blocking, a wake-up with nothing to read waits again.
        while True:
            await anyio.wait_readable(self._fd)
            try:
                return os.read(self._fd, READ_SIZE)
            except BlockingIOError:
                continue

    def __aiter__(self) -> LineReader:
        return self

    async def __anext__(self) -> str:
        while True:
            end = self._buffer.find(b"\n", self._scanned)
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                self._scanned = 0
                return line.decode("utf-8", errors="replace")
            if self._ended:
                if not self._buffer:
                    raise StopAsyncIteration
                line = bytes(self._buffer)  # a last line without its newline
                self._buffer.clear()
                return line.decode("utf-8", errors="replace")
            self._scanned = len(self._buffer)
            chunk = await self._read()
            if chunk:
                self._buffer += chunk
            else:
                self._ended = True


class Writer:
    """Writes whole frames to a file descriptor: on the event loop when it is a pipe or a
    socket (made non-blocking for the time of the transport), else in a worker thread."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.on_loop = pollable(fd)

    async def write(self, data: bytes) -> None:
        if not self.on_loop:
            await anyio.to_thread.run_sync(_write_all, self._fd, data)
            return
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:
                await anyio.wait_writable(self._fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@contextmanager
def non_blocking(fd: int, wanted: bool) -> Iterator[None]:
    if not wanted:
        yield
        return
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        yield
    finally:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags)


@contextmanager
def claimed_stdout() -> Iterator[int]:
    """The wire's own descriptor for stdout; fd 1 points at stderr meanwhile (as the SDK's
    transport does), so that a print or a child's output cannot break a frame."""
    sys.stdout.flush()
    try:
        wire = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
    except OSError:
        yield 1  # cannot duplicate: serve in place
        return
    try:
        os.dup2(2, 1)
    except OSError:
        os.close(wire)
        yield 1
        return
    try:
        yield wire
    finally:
        with suppress(OSError):
            os.dup2(wire, 1)
        os.close(wire)


async def _read_frames(
    lines: LineReader,
    incoming: ObjectSendStream[Incoming],
    outgoing: ObjectSendStream[Outgoing],
    fast: FastPrompts | None,
) -> None:
    async with incoming, outgoing, anyio.create_task_group() as fast_calls:
        async for line in lines:
            if fast is not None and fast.take(line, fast_calls, outgoing):
                continue
            try:
                message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
            except Exception as exc:  # the SDK's transport hands on any failure, so do we
                found = request_id(line)
                if found is None:
                    with suppress(anyio.BrokenResourceError):
                        await incoming.send(exc)
                else:
                    with suppress(anyio.ClosedResourceError):  # the session is over
                        await outgoing.send(SessionMessage(refusal(found, exc)))
                continue
            if fast is not None:
                fast.seen(message)
            try:
                await incoming.send(SessionMessage(message))
            except anyio.BrokenResourceError:
                break  # the session is over: nothing reads what follows
        # The end of the input: the SDK cancels the calls it is running, and so do we.
        fast_calls.cancel_scope.cancel()


async def _write_frames(
    writer: Writer, outgoing: ObjectReceiveStream[Outgoing], fast: FastPrompts | None
) -> None:
    async with outgoing:
        async for item in outgoing:
            if isinstance(item, bytes):  # the fast path's, encoded already
                await writer.write(item)
                continue
            if fast is not None:
                fast.sent(item.message)
            frame = item.message.model_dump_json(by_alias=True, exclude_unset=True)
            await writer.write(frame.encode() + b"\n")


@asynccontextmanager
async def shim_stdio(
    fast: FastPrompts | None = None,
) -> AsyncIterator[tuple[ObjectReceiveStream[Incoming], ObjectSendStream[SessionMessage]]]:
    """The (read, write) streams of a session served over this process's stdin and stdout;
    with `fast`, the `memory_prompt_context` calls it takes are answered beside the session."""
    incoming_send, incoming = anyio.create_memory_object_stream[Incoming](0)
    outgoing, outgoing_receive = anyio.create_memory_object_stream[Outgoing](0)
    with claimed_stdout() as wire:
        writer = Writer(wire)
        with non_blocking(wire, writer.on_loop):
            async with anyio.create_task_group() as group:
                group.start_soon(_read_frames, LineReader(0), incoming_send, outgoing.clone(), fast)
                group.start_soon(_write_frames, writer, outgoing_receive, fast)
                yield incoming, outgoing
