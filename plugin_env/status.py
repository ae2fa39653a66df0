"""The outcome of the last build (install-status.json), for the MCP front to tell the model."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

BUILDING, FAILED, READY = "building", "failed", "ready"


@dataclass(frozen=True)
class BuildStatus:
    version: str
    state: str  # BUILDING, FAILED or READY
    message: str = ""  # for FAILED: what failed, in one line
    retry: str = ""  # for FAILED: the shell command that builds again, in the foreground


def write_status(path: Path, status: BuildStatus) -> None:
    """Replace the file at once, so that a reader never sees half of it."""
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    part.write_text(json.dumps(asdict(status)) + "\n")
    os.replace(part, path)


def read_status(path: Path) -> BuildStatus | None:
    try:
        raw = json.loads(path.read_text())
        return BuildStatus(
            version=str(raw["version"]),
            state=str(raw["state"]),
            message=str(raw.get("message", "")),
            retry=str(raw.get("retry", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
