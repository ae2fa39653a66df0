"""`memory-mcp` / `python -m mcp_shim`: serve the memory tools over stdio.

stdout carries only the protocol. Logs go to MEMORY_HOME/logs/mcp_shim.log (warnings and up),
or to stderr at debug level when DEBUG_CLAUDE_MEMORY_HOOKS=1. MEMORY_SHIM_START_TIMEOUT (seconds,
default 3) bounds the wait for a daemon the shim starts, for machines too loaded to start one
in 3 s.
"""

from __future__ import annotations

import logging
import os
import sys
from io import TextIOWrapper
from pathlib import Path
from typing import cast

from mcp_shim.link import START_BUDGET, DaemonLink
from mcp_shim.project import project_name
from mcp_shim.server import create_server
from mcp_shim.tool_base import ShimState
from memory_core.config import load_settings
from memory_core.errors import ConfigError
from memory_core.hook_settings import hook_budget, hook_timeout
from memory_core.log_format import log_to
from memory_core.private_files import private_dir, private_opener

LOG_NAME = "mcp_shim.log"


class PrivateLogFile(logging.FileHandler):
    """A log file that is 0600 whatever the umask (logging's own handler creates it 0644)."""

    def _open(self) -> TextIOWrapper:
        stream = open(  # noqa: SIM115 - the handler owns the stream
            self.baseFilename,
            self.mode,
            encoding=self.encoding,
            errors=self.errors,
            opener=private_opener,
        )
        return cast(TextIOWrapper, stream)  # a text mode: open() gives a TextIOWrapper


def setup_logging(home: Path | None) -> None:
    """Configure the root logger before the SDK does (it would log INFO to stderr)."""
    level = logging.WARNING
    if os.environ.get("DEBUG_CLAUDE_MEMORY_HOOKS") == "1":
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        level = logging.DEBUG
    elif home is not None:
        try:
            logs = private_dir(home / "logs", "the shim's log")
            handler = PrivateLogFile(logs / LOG_NAME, encoding="utf-8", delay=True)
        except (OSError, ConfigError):
            handler = logging.NullHandler()  # never fail a session over its log
    else:
        handler = logging.NullHandler()
    log_to(handler, level, "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")


def make_state() -> ShimState:
    project = project_name()
    try:
        settings = load_settings()
    except ConfigError as exc:
        return ShimState(link=None, project=project, config_error=exc.message)
    try:
        start_budget = float(os.environ.get("MEMORY_SHIM_START_TIMEOUT") or START_BUDGET)
    except ValueError:
        start_budget = START_BUDGET
    link = DaemonLink(
        settings.socket_path,
        settings.home,
        python=sys.executable,
        start_budget=min(max(start_budget, 0.5), 60.0),
    )
    return ShimState(
        link=link,
        project=project,
        hook_budget=hook_budget(os.environ),
        hook_timeout=hook_timeout(os.environ),
    )


def main() -> int:
    try:
        home: Path | None = load_settings().home
    except ConfigError:
        home = None
    setup_logging(home)
    create_server(make_state).run("stdio")
    return 0
