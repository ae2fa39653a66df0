"""Serving the app on the Unix socket, as the only memoryd for its database.

We bind the socket ourselves (uvicorn's `uds=` leaves it 0666): 0600, in a directory that is
0700 when we create it and otherwise must be ours and writable by no one else, and every
connection's peer uid is checked with SO_PEERCRED. An exclusive lock on `<db>.lock` makes
a second daemon for the same database impossible, whatever socket it was given.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import socket
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from memory_core.clock import Clock
from memory_core.config import Settings
from memory_core.errors import UnsafeDirectory
from memory_core.private_files import private_dir, private_opener
from memory_core.version import __version__
from memoryd.api.app import create_app
from memoryd.service.activation import MemorydServer, listen_fds, server_config
from memoryd.service.units import EXIT_CONFIG_ERROR

log = logging.getLogger("memoryd")


def peer_uid(sock: socket.socket | None) -> int | None:
    """The uid of the process at the other end, where the platform tells it."""
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", raw)
    return int(uid)


class PeerCheckedProtocol(HttpToolsProtocol):
    """Closes connections from any uid but ours before a single byte is read."""

    _refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        uid = peer_uid(transport.get_extra_info("socket"))
        if uid is not None and uid != os.getuid():
            log.warning("refused a connection from uid %d", uid)
            self._refused = True
            transport.close()
            return
        super().connection_made(transport)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._refused:
            super().connection_lost(exc)


def socket_answers(path: Path, timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout)
        try:
            probe.connect(str(path))
        except OSError:
            return False
        return True


def prepare_socket_dir(path: Path) -> None:
    try:
        private_dir(path.parent, "the socket")
    except UnsafeDirectory as exc:
        print(f"memoryd: {exc.message}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG_ERROR) from None


def bind_socket(path: Path) -> socket.socket:
    """Bind and listen on `path` with mode 0600; a stale socket file is replaced."""
    prepare_socket_dir(path)
    if path.exists() or path.is_symlink():
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    sock.listen(512)
    sock.setblocking(False)
    return sock


@dataclass
class DaemonLock:
    path: Path
    handle: TextIO

    def release(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def acquire_lock(db_path: Path, socket_path: Path | None = None) -> DaemonLock | None:
    """The single-writer lock, or None when another memoryd holds it. The holder writes its
    pid and socket into the lock file, so that a second daemon can say where the first is."""
    private_dir(db_path.parent, "the database")
    path = db_path.with_name(db_path.name + ".lock")
    fd = private_opener(path, os.O_RDWR | os.O_CREAT)
    handle = os.fdopen(fd, "r+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return None
        raise
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n{socket_path or ''}\n")
    handle.flush()
    return DaemonLock(path, handle)


def lock_holder(db_path: Path) -> tuple[str, Path | None]:
    """The pid and socket written by the daemon holding the lock ("?" and None if unknown)."""
    path = db_path.with_name(db_path.name + ".lock")
    with contextlib.suppress(OSError):
        lines = path.read_text().splitlines()
        pid = lines[0].strip() if lines and lines[0].strip() else "?"
        sock = Path(lines[1].strip()) if len(lines) > 1 and lines[1].strip() else None
        return pid, sock
    return "?", None


# How long an idle connection stays open. Each session's shim keeps one for its prompt hook
# (mcp_shim.quick_post.KeptConnection): a connection per prompt cost ~0.3 ms of CPU here, a
# tenth of a prompt's. A session's prompts are often minutes apart; an idle connection costs
# a file descriptor and a timer.
KEEP_ALIVE_S = 600


def uvicorn_config(app: Any) -> uvicorn.Config:
    return server_config(
        app,
        http=PeerCheckedProtocol,
        lifespan="on",
        timeout_graceful_shutdown=15,
        timeout_keep_alive=KEEP_ALIVE_S,
    )


def _wait_for(path: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if socket_answers(path):
            return True
        time.sleep(0.05)
    return False


def serve(
    settings: Settings,
    clock: Clock | None = None,
    out: TextIO = sys.stderr,
    idle_exit: float | None = None,
    integrity_checked: bool = False,
) -> int:
    """Run the daemon until SIGTERM/SIGINT or a handover. Returns the process exit status.
    `integrity_checked`: the database was just checked (`Database.open`).

    A socket passed by systemd (LISTEN_FDS) is used instead of binding our own; only then
    does `idle_exit` apply, since only then does something start us again on demand.
    """
    sock_path = settings.socket_path
    activated = listen_fds()
    lock = acquire_lock(settings.db_path, None if activated else sock_path)
    if lock is None:
        pid, holder_socket = lock_holder(settings.db_path)
        if holder_socket is not None and holder_socket != sock_path:
            # Never two writers: a daemon on another socket owns this database.
            print(
                f"memoryd: {settings.db_path} is already served by memoryd (pid {pid}) on "
                f"{holder_socket}; refusing to start a second one on {sock_path}. Point "
                "MEMORY_SOCKET at that socket, or give this daemon its own MEMORY_DB.",
                file=out,
            )
            return 1
        # The holder may still be starting: give it a moment to answer.
        if _wait_for(sock_path, 5.0):
            print(
                f"memoryd: already running (pid {pid}) on {sock_path}; nothing to do",
                file=out,
            )
            return 0
        print(
            f"memoryd: {settings.db_path} is in use by another memoryd (pid {pid}) that does "
            f"not answer on {sock_path}",
            file=out,
        )
        return 1
    try:
        # A socket-activated listener always "answers" (systemd queues the connection).
        if not activated and socket_answers(sock_path):
            print(
                f"memoryd: another daemon already answers on {sock_path}; nothing to do", file=out
            )
            return 0
        sock = activated[0] if activated else bind_socket(sock_path)
        inode = None if activated else sock_path.stat().st_ino
        app = create_app(settings, clock, integrity_checked=integrity_checked)
        server = MemorydServer(uvicorn_config(app), idle_exit=idle_exit if activated else None)
        app.state.request_exit = server.request_exit  # used by POST /api/admin/handover
        where = "socket from the service manager" if activated else str(sock_path)
        print(
            f"memoryd {__version__}: listening on {where} (db {settings.db_path}, "
            f"mode {settings.mode})",
            file=out,
            flush=True,
        )
        try:
            asyncio.run(server.serve(sockets=[sock]))
        finally:
            sock.close()
            with contextlib.suppress(FileNotFoundError):
                if inode is not None and sock_path.stat().st_ino == inode:
                    sock_path.unlink()
        if server.exit_reason:
            print(f"memoryd: stopped ({server.exit_reason})", file=out, flush=True)
        return 0 if server.started else 1
    finally:
        lock.release()
