"""The project a working directory belongs to: the git repository's name, else the
directory's name (the same rule the MCP shim uses when it stores and recalls).

Every prompt asks, on the event loop: written with `os.path` on strings (pathlib's objects
cost 2.5 times as much for the same system calls), with the answers `Path.resolve` gave;
and remembered a moment (`ProjectMemo`): the realpath and the look for .git in every parent
were a tenth of the event loop's work for a prompt."""

from __future__ import annotations

import errno
import os

from memory_core.clock import Clock


def project_for(cwd: str | None) -> str | None:
    """None for no directory, a relative one, or one that cannot name a directory (a NUL
    byte, a symlink loop, a name too long: bad input, not a daemon error)."""
    if not cwd or not os.path.isabs(cwd):
        return None
    try:
        path = os.path.realpath(cwd)
        os.stat(path)  # what Path.resolve checked after it: a symlink loop
    except ValueError:  # a NUL byte
        return None
    except OSError as exc:  # a directory gone (or never there) still names its project
        if exc.errno in (errno.ELOOP, errno.ENAMETOOLONG):
            return None
    candidate = path
    while True:
        if os.path.exists(os.path.join(candidate, ".git")):
            return os.path.basename(candidate) or None
        parent = os.path.dirname(candidate)
        if parent == candidate:
            return os.path.basename(path) or None
        candidate = parent


# How long a working directory's project is remembered. A prompt burst (every session's
# prompt at once, from the same few directories) asks within milliseconds; a repository made
# (`git init`) or removed in a parent is seen by the prompts after this, which a person
# typing the next prompt never beats.
PROJECT_MEMO_MS = 2_000
PROJECT_MEMO_SIZE = 256  # distinct working directories remembered at once


class ProjectMemo:
    """`project_for`, remembered by the working directory's text for `lifetime_ms` of `clock`
    (not keyed on the directory's identity: a .git made in a parent changes no stat of the
    directory itself, and checking every parent costs what the memo saves)."""

    def __init__(
        self,
        clock: Clock,
        lifetime_ms: int = PROJECT_MEMO_MS,
        size: int = PROJECT_MEMO_SIZE,
    ) -> None:
        self.clock = clock
        self.lifetime_ms = lifetime_ms
        self.size = size
        self._found: dict[str | None, tuple[int, str | None]] = {}

    def __call__(self, cwd: str | None) -> str | None:
        now = self.clock.now_ms()
        found = self._found.get(cwd)
        # A clock set back is no reason to keep an answer longer.
        if found is not None and 0 <= now - found[0] < self.lifetime_ms:
            return found[1]
        project = project_for(cwd)
        self._found.pop(cwd, None)
        if len(self._found) >= self.size:
            del self._found[next(iter(self._found))]  # the oldest answer
        self._found[cwd] = (now, project)
        return project
