"""The project a working directory belongs to: the git repository's name, else the
directory's name (the same rule the MCP shim uses when it stores and recalls)."""

from __future__ import annotations

from pathlib import Path


def project_for(cwd: str | None) -> str | None:
    if not cwd:
        return None
    path = Path(cwd)
    if not path.is_absolute():
        return None
    try:
        path = path.resolve()
    except OSError:
        return None
    for candidate in (path, *path.parents):
        if (candidate / ".git").exists():
            return candidate.name or None
    return path.name or None
