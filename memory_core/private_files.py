"""Directories and files only their user can reach: 0700 and 0600, whatever the umask.

Everything memoryd, its CLI and the MCP shim write goes through here. A directory they create
(with any missing parents) is made 0700. A directory that already exists is never chmodded: it
may be shared (`/tmp`) or another user's, and memoryd running as root must not change either.
It is used as it is when it is safe, and refused with one line (`UnsafeDirectory`) when another
user owns it or group or others may write to it, since they could then swap what we put there.

Files are created 0600; a file of ours that exists with a wider mode is narrowed before anything
is written to it, and whole files (exports, keys, markers) are written under a temporary name
and renamed into place, so a reader never sees half of one and an old file's mode is not reused.
Stdlib-only: the shim's autostart imports it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from memory_core.errors import UnsafeDirectory

DIR_MODE = 0o700
FILE_MODE = 0o600
_UNSAFE_BITS = stat.S_IWGRP | stat.S_IWOTH


def make_private_dirs(path: Path) -> bool:
    """Create `path` and its missing parents, each 0700. True when `path` itself was created
    here; False when it existed (or another process created it meanwhile)."""
    missing: list[Path] = []
    current = path
    while not os.path.lexists(current) and current.parent != current:
        missing.append(current)
        current = current.parent
    created = False
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            created = False  # another process's mkdir won: not ours to chmod
            continue
        os.chmod(directory, DIR_MODE)  # mkdir's mode went through the umask
        created = True
    return created


def check_private_dir(path: Path, purpose: str, uid: int | None = None) -> None:
    """Refuse `path` unless it is a directory owned by `uid` (ours by default) that neither
    group nor others may write to."""
    owner = os.getuid() if uid is None else uid
    try:
        info = path.stat()
    except OSError as exc:
        raise UnsafeDirectory(f"cannot use {path} for {purpose}: {exc.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeDirectory(f"cannot use {path} for {purpose}: it is not a directory")
    if info.st_uid != owner:
        raise UnsafeDirectory(
            f"refusing to keep {purpose} in {path}: it belongs to uid {info.st_uid}, not to "
            f"uid {owner} running memoryd; use a directory of your own"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & _UNSAFE_BITS:
        raise UnsafeDirectory(
            f"refusing to keep {purpose} in {path}: other users can write to it (mode "
            f"{mode:04o}); run `chmod go-w {path}` or choose a directory only you can write to"
        )


def private_dir(path: Path, purpose: str, uid: int | None = None) -> Path:
    """`path` as a directory only its user may change: created 0700 if absent, else checked
    (never chmodded). `purpose` names what goes there, for the refusal's message."""
    if not make_private_dirs(path):
        check_private_dir(path, purpose, uid)
    return path


def private_opener(path: str | os.PathLike[str], flags: int) -> int:
    """An opener for `open()` and a replacement for `os.open`: a file it creates is 0600, and
    a regular file of ours that exists with another mode is made 0600 before it is used."""
    fd = os.open(path, flags, FILE_MODE)
    try:
        info = os.fstat(fd)
        if (
            stat.S_ISREG(info.st_mode)
            and info.st_uid == os.getuid()
            and stat.S_IMODE(info.st_mode) != FILE_MODE
        ):
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def _temporary_beside(path: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """A new 0600 file in `path`'s directory, removed on the way out unless it was renamed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle, tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _sync(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def write_private_file(path: Path, data: bytes, *, replace: bool = True) -> bool:
    """Write `data` to `path` (0600) atomically. With `replace=False` a file already at `path`
    is kept and False returned (whoever created it first wins)."""
    with _temporary_beside(path) as (handle, tmp):
        handle.write(data)
        _sync(handle)
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True


@contextlib.contextmanager
def private_output(path: Path) -> Iterator[BinaryIO]:
    """A file to write `path` through: 0600 under a temporary name, renamed into place when the
    block ends without an error (on an error `path` is left as it was). What is not a regular
    file (`/dev/stdout`, a pipe) is written in place."""
    if path.exists() and not path.is_file():
        with open(path, "wb") as direct:
            yield direct
        return
    make_private_dirs(path.parent)
    with _temporary_beside(path) as (handle, tmp):
        yield handle
        _sync(handle)
        os.replace(tmp, path)
