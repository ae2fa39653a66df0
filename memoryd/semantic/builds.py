"""Files the semantic leg derives from its model once and keeps in the cache directory (the int8
query model, quantize.py; the static query table, static.py): each built by a child process, so
that its peak memory never stays with the daemon, under a lock file, so that two daemons (a
version handover) do not build it twice."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import sys
from pathlib import Path
from typing import IO


class BuildFailed(RuntimeError):
    """The child process could not build the file (its stderr's last line is the message)."""


async def ensure_built(target: Path, module: str, *args: str) -> Path:
    """`target`, built first by `python -m module target *args` unless it exists."""
    lock = await asyncio.to_thread(_lock_unless_built, target)
    if lock is None:
        return target
    with lock:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            str(target),
            *args,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await child.communicate()
        finally:
            if child.returncode is None:  # cancelled: the daemon is stopping
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                await child.wait()
    if child.returncode != 0:
        lines = stderr.decode(errors="replace").strip().splitlines()
        raise BuildFailed(lines[-1] if lines else f"exit status {child.returncode}")
    return target


def _lock_unless_built(target: Path) -> IO[str] | None:
    """None if `target` exists (waiting for a build under way elsewhere), else the held lock."""
    if target.exists():
        return None
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = open(target.parent / ".build.lock", "w")  # noqa: SIM115 - returned, held open
    fcntl.flock(lock, fcntl.LOCK_EX)
    if target.exists():
        lock.close()
        return None
    return lock
