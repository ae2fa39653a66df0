"""The current project's name, as stores and recalls send it. Stdlib-only (hooks reuse it)."""

from __future__ import annotations

import os
from pathlib import Path


def project_root(cwd: Path) -> Path:
    """The top level of the git work tree holding `cwd`, else `cwd` itself.

    Looks for `.git` (a directory, or the file a worktree or submodule has) instead of running
    git: it answers in microseconds and works where git is not installed.
    """
    here = cwd.resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return candidate
    return here


def project_name(cwd: Path | None = None) -> str | None:
    """The git repository's directory name, else the directory's name; None at `/`."""
    base = Path(cwd) if cwd is not None else session_dir()
    return project_root(base).name or None


def session_dir() -> Path:
    """The session's working directory: Claude Code exports CLAUDE_PROJECT_DIR to MCP servers
    and hooks; a server started by hand falls back to its own cwd."""
    return Path(os.environ.get("CLAUDE_PROJECT_DIR") or os.getcwd())
