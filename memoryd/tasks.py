"""Stopping the daemon's background tasks, the one way every subsystem does it."""

from __future__ import annotations

import asyncio
import contextlib


async def cancel_and_wait(task: asyncio.Task[object] | None) -> None:
    """Cancel `task` (if any) and wait until it has stopped, so that what it does on the way
    out (a finally, a last flush) is over before the caller closes what it uses. The
    CancelledError it ends with is the outcome asked for, not an error."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
