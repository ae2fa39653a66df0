"""Telling a full disk from other failures, so that it is reported as one (507 `disk_full`,
"disk full" in `memory doctor`, one line at start-up) and never as a damaged database.

The OS says ENOSPC or EDQUOT (or EFBIG, a file over RLIMIT_FSIZE); SQLite says SQLITE_FULL when
a write runs out of room, but a plain "disk I/O error" when it cannot grow the shared-memory
file of a WAL database. For those I/O errors the only way to know is to try: `has_room` writes
a small probe file next to the database, and removes it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_SQLITE_IOERR = 10  # primary result codes; extended codes keep them in the low byte
_SQLITE_FULL = 13
_PG_DISK_FULL = "53100"  # SQLSTATE disk_full: PostgreSQL could not extend a file
_PROBE_BYTES = 64 * 1024  # what SQLite needs to go on: a WAL frame, a shared-memory region


def has_room(directory: Path, size: int = _PROBE_BYTES) -> bool:
    """Whether `size` bytes can still be written in `directory`. Any failure other than a full
    disk (a read-only or missing directory) is not this module's to report: True."""
    try:
        fd, name = tempfile.mkstemp(prefix=".memoryd-room-", dir=directory)
    except OSError as exc:
        return exc.errno not in FULL_ERRNOS
    try:
        written = os.write(fd, bytes(size))
        return written == size
    except OSError as exc:
        return exc.errno not in FULL_ERRNOS
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)


def is_disk_full(exc: BaseException, directory: Path | None = None) -> bool:
    """Whether `exc` (an OSError, a sqlite3 error, or a PostgreSQL error from the hub's driver)
    means the disk is full; for SQLite's I/O errors, `directory` (where the database lives) is
    probed."""
    if isinstance(exc, OSError):
        return exc.errno in FULL_ERRNOS
    if getattr(exc, "sqlstate", None) == _PG_DISK_FULL:  # asyncpg's DiskFullError
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return False
    if code & 0xFF == _SQLITE_FULL:
        return True
    return code & 0xFF == _SQLITE_IOERR and directory is not None and not has_room(directory)
