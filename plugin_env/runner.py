"""Running a build: at most one at a time, in a process that outlives the session.

The lock is an flock on install.lock held for the whole build. Whoever starts a build takes it
first (without waiting: if it is taken, a build is already running and nothing is started),
then forks twice; the grandchild, in a session of its own and nobody's child, inherits the
locked file and execs the build, and the starter closes its copy. The lock is released when the
build process exits, however it exits, so waiting for a build is taking the lock shared.
Claude Code ends a session's MCP servers and hook processes when it exits (`claude -p` within
a second of its answer); a build started this way is not among them.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from plugin_env.build import (
    BuildFailed,
    Step,
    build,
    find_base_python,
    installers,
    pip_plan,
    pip_version,
    probe,
    uv_plan,
)
from plugin_env.layout import Layout
from plugin_env.status import BUILDING, FAILED, READY, BuildStatus, write_status

ENTRY = Path("scripts") / "plugin_python.py"  # the command line, under the plugin root


def retry_command(layout: Layout) -> str:
    """The shell command that builds the environment again, in the foreground."""
    assignments = {"CLAUDE_PLUGIN_ROOT": layout.root, "CLAUDE_PLUGIN_DATA": layout.data}
    words = [f"{name}={shlex.quote(str(path))}" for name, path in assignments.items()]
    return " ".join([*words, "python3", shlex.quote(str(layout.root / ENTRY)), "--install"])


def _lock_file(layout: Layout) -> int:
    layout.data.mkdir(mode=0o700, parents=True, exist_ok=True)
    return os.open(layout.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def start_detached(layout: Layout, starter: str) -> bool:
    """Start a build unless the environment is ready or a build is running; True if started.
    Returns at once (a fork and an exec, a few ms): hooks call it too."""
    if layout.ready():
        return False
    fd = _lock_file(layout)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a build is running
        if layout.ready():  # one finished between the first check and the lock
            return False
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the forked child
            _become_build(layout, fd, starter)
        os.waitpid(child, 0)
        return True
    finally:
        os.close(fd)  # the build process holds the lock now


def _become_build(layout: Layout, fd: int, starter: str) -> None:
    """In the first child: a new session, a second fork, and the grandchild execs the build
    with the locked file as an inherited descriptor. Never returns."""
    try:
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for target in (0, 1, 2):  # nothing of the session's pipes: Claude Code waits on those
            os.dup2(null, target)
        os.set_inheritable(fd, True)
        entry = str(layout.root / ENTRY)
        argv = [sys.executable, entry, "--build", "--lock-fd", str(fd), "--by", starter]
        os.execv(sys.executable, argv)  # noqa: S606 - our own script, no shell
    finally:
        os._exit(1)


def wait_for_build(layout: Layout) -> None:
    """Return once no build is running (at once if none is)."""
    fd = _lock_file(layout)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    finally:
        os.close(fd)


def build_running(layout: Layout) -> bool:
    fd = _lock_file(layout)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False
    finally:
        os.close(fd)


def run_build(layout: Layout, starter: str, lock_fd: int | None = None) -> BuildStatus:
    """Build under the lock (`lock_fd` already holds it; else wait for it here), logging to
    install.log and recording the outcome in install-status.json."""
    fd = lock_fd if lock_fd is not None else _lock_file(layout)
    try:
        if lock_fd is None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # another build may be running: wait for it
        if layout.ready():
            return BuildStatus(layout.version, READY)
        write_status(layout.status, BuildStatus(layout.version, BUILDING))
        with open(layout.log, "a") as log:
            status = _logged_build(layout, starter, log)
        write_status(layout.status, status)
        return status
    finally:
        os.close(fd)


def _logged_build(layout: Layout, starter: str, log: IO[str]) -> BuildStatus:
    started = time.monotonic()

    def note(line: str) -> None:
        log.write(f"--- {line}\n")
        log.flush()

    def run(step: Step) -> int:
        note(f"{step.what}: {' '.join(step.argv)}")
        began = time.monotonic()
        done = subprocess.run(
            step.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=str(layout.data)
        )
        note(f"{step.what}: exit {done.returncode} after {time.monotonic() - began:.1f} s")
        return done.returncode

    note(f"installing memoryd plugin {layout.version} from {layout.root} (started by {starter})")
    try:
        base = find_base_python()
        uv = shutil.which("uv")
        choices = installers(os.environ.get("MEMORYD_PLUGIN_INSTALLER"), uv)
        for number, installer in enumerate(choices, 1):
            if installer == "uv" and uv:
                steps = uv_plan(uv, base, layout.build_dir, layout.requirements)
            else:
                base_pip = pip_version(probe([base, "-m", "pip", "--version"]))
                steps = pip_plan(base, base_pip, layout.build_dir, layout.requirements)
            try:
                build(layout, steps, run)
                break
            except BuildFailed as exc:
                if number == len(choices):
                    raise
                note(f"{exc}; trying {choices[number]} instead")
    except (BuildFailed, OSError) as exc:
        message = str(exc) if isinstance(exc, BuildFailed) else f"{type(exc).__name__}: {exc}"
        note(f"failed after {time.monotonic() - started:.1f} s: {message}")
        return BuildStatus(
            layout.version, FAILED, f"{message} (log: {layout.log})", retry_command(layout)
        )
    note(f"installed memoryd plugin {layout.version} in {time.monotonic() - started:.1f} s")
    return BuildStatus(layout.version, READY)


def build_main(
    layout: Layout, starter: str, lock_fd: int | None, say: Callable[[str], None]
) -> int:
    """`plugin_python.py --build` (the detached build) and `--install` (the retry command)."""
    status = run_build(layout, starter, lock_fd)
    if status.state == READY:
        say(f"memoryd plugin {layout.version}: environment ready in {layout.venv}")
        return 0
    say(f"memoryd plugin: {status.message}")
    return 1
