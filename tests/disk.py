"""A disk the tests can fill, for the full-disk fault tests.

Where this machine lets us mount (root or CAP_SYS_ADMIN), it is a real filesystem: a small
tmpfs, filled by a filler file (ENOSPC, and SQLite's own view of a full disk). Elsewhere, and
always as a second variant, it is RLIMIT_FSIZE: the processes under test may not grow any file
(EFBIG), set with prlimit on a running daemon and in a pre-exec hook for processes started
while the disk is "full". Neither variant is ever skipped.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import short_tmpdir

SIZE = 16 * 1024 * 1024  # room for a 4,000-memory import and its WAL (4 MiB+), with a margin


@dataclass
class FillableDisk:
    root: Path
    mounted: bool  # False: RLIMIT_FSIZE stands in for a full disk
    full: bool = False
    _limited: list[int] = field(default_factory=list)

    def fill(self, *pids: int) -> None:
        """Leave no room; `pids` are the running processes under test (RLIMIT_FSIZE)."""
        self.full = True
        if self.mounted:
            fill(self.root / ".filler")
            return
        for pid in pids:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
            self._limited.append(pid)

    def free(self) -> None:
        self.full = False
        if self.mounted:
            (self.root / ".filler").unlink()
            return
        for pid in self._limited:
            with contextlib.suppress(ProcessLookupError):
                resource.prlimit(
                    pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
                )
        self._limited.clear()

    def preexec(self) -> Callable[[], None] | None:
        """For a process started while the disk is full."""
        if self.mounted or not self.full:
            return None
        return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))

    def run(self, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            preexec_fn=self.preexec(),  # the limit is set in the child, before exec
        )


def fill(filler: Path) -> None:
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (1 << 20, 1 << 16, 1 << 12, 1):
            while True:
                try:
                    if os.write(fd, bytes(chunk)) < chunk:
                        break
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)


def mount_tmpfs(target: Path, size: int | str = SIZE) -> bool:
    """Mount a tmpfs of `size` on `target`; False where this machine may not mount."""
    if shutil.which("mount") is None:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(target)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@contextlib.contextmanager
def fillable_disk(prefer_mount: bool) -> Iterator[FillableDisk]:
    root = short_tmpdir("disk")
    mounted = prefer_mount and mount_tmpfs(root)
    try:
        yield FillableDisk(root, mounted)
    finally:
        if mounted and subprocess.run(["umount", str(root)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(root)], check=False)
        shutil.rmtree(root, ignore_errors=True)
