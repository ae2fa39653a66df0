"""The project a working directory belongs to: the git repository's name, else the
directory's name (the same rule the MCP shim uses when it stores and recalls).

Every prompt asks, on the event loop: written with `os.path` on strings (pathlib's objects
cost 2.5 times as much for the same system calls), with the answers `Path.resolve` gave."""

from __future__ import annotations

import errno
import os


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
