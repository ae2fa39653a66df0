"""A real daemon whose output goes to a file under its MEMORY_HOME (logs/memoryd.log, where the
shim's autostart puts it): the suite makes it log thousands of refused requests, and a pipe
nobody reads fills up (64 KiB) and then blocks the daemon in its next write."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import Daemon, daemon_env, short_tmpdir, wait_for_socket

# Auto-learn on (an API key), towards an Anthropic API that is not there: the learning routes
# and the worker run, and no transcript ever leaves the machine.
OFFLINE_LEARNING = {
    "ANTHROPIC_API_KEY": "sk-ant-adversarial-suite-offline",
    "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
}


class LoggedDaemon(Daemon):
    @property
    def log(self) -> Path:
        return self.home / "logs" / "memoryd.log"

    def start(self) -> LoggedDaemon:
        self.log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "memoryd", "serve"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_socket(self.socket, self.proc)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}{self.output()}") from None
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def discard(self) -> None:
        """Stop it and remove its MEMORY_HOME."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def start_logged(**extra_env: str) -> LoggedDaemon:
    """A started daemon on a fresh MEMORY_HOME; the caller discards it."""
    home = short_tmpdir()
    return LoggedDaemon(home, daemon_env(home, **extra_env)).start()


@contextmanager
def logged_daemon(**extra_env: str) -> Iterator[LoggedDaemon]:
    daemon = start_logged(**extra_env)
    try:
        yield daemon
    finally:
        daemon.discard()
