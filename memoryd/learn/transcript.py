"""Reading a Claude Code transcript (JSONL, appended as the session goes) from a given line.

Only the conversation's text counts: user prompts and assistant text blocks. Tool calls,
tool results, thinking and meta entries are skipped. A last line without its newline is still
being written and is left for the next pass.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_TURN_CHARS = 3000


@dataclass(frozen=True)
class Turn:
    role: str
    text: str


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            block.get("text", "")
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        ]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def _read_regular_file(path: Path) -> bytes | None:
    """The bytes of `path` if it is a regular file, else None. The path comes from a hook's
    JSON: a FIFO would block the daemon's event loop in open() or read() for good, /dev/zero
    would fill its memory, and a NUL in the path would raise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except (OSError, ValueError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    except OSError:
        return None
    finally:
        os.close(fd)


def read_turns(path: Path, start_line: int) -> tuple[list[Turn], int]:
    """The turns after `start_line` complete lines, and the new count of complete lines."""
    raw = _read_regular_file(path)
    if raw is None:
        return [], start_line
    lines = raw.split(b"\n")
    complete = lines[:-1]  # whatever follows the last newline is unfinished
    turns = []
    for line in complete[start_line:]:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("isMeta"):
            continue
        role = entry.get("type")
        message = entry.get("message")
        if role not in ("user", "assistant") or not isinstance(message, dict):
            continue
        text = _text(message.get("content")).strip()
        if text:
            turns.append(Turn(role, text[:MAX_TURN_CHARS]))
    return turns, max(start_line, len(complete))
