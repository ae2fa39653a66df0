"""Claude Code's own auto memory, read and written as memoryd memories.

Claude Code (2.1.59+) keeps notes per project in `<claude dir>/projects/<encoded path>/memory/`:
MEMORY.md (an index it loads into every session) and topic files beside it, some with a YAML
front matter (`name`, `description`, `type`). `<encoded path>` is the project's absolute path
with every character outside [A-Za-z0-9] replaced by `-` (`/home/u/apollo-web` →
`-home-u-apollo-web`), which cannot be undone by string work alone (a `-` may have been a `/`,
a `.` or a `-`); `decode_project_dir` walks the file system for the directory it names.

Splitting: one memory per top-level bullet (its indented lines with it), one per paragraph
outside bullets, each prefixed with its section's heading so it reads on its own (unless the
heading is a memoryd category, as in a MEMORY.md `memory export` wrote: then the heading is
the memory's category, so that an export imported again adds nothing); text longer
than the store's limit is cut at line boundaries. Pure functions plus careful file reading: no
daemon here (memoryd.cli.automem_cmd talks to it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from memory_core.model import CATEGORIES

MAX_FILE_BYTES = 1_000_000  # MEMORY.md is meant to be ~200 lines; a topic file a few pages
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_BULLET = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
# Front matter `type` of Claude Code's topic files -> memoryd category.
TYPE_CATEGORY = {
    "user": "preferences",
    "feedback": "preferences",
    "project": "projects",
    "reference": "facts",
}


@dataclass(frozen=True)
class AutoMemoryDir:
    path: Path  # .../projects/<encoded>/memory
    project_path: Path | None  # the project's directory, when it could be found on disk


@dataclass(frozen=True)
class Piece:
    content: str
    category: str
    source_file: str


def claude_dir(env: dict[str, str], home: Path) -> Path:
    """Claude Code's configuration directory: CLAUDE_CONFIG_DIR, else ~/.claude."""
    configured = env.get("CLAUDE_CONFIG_DIR")
    return Path(configured).expanduser() if configured else home / ".claude"


def encode_project_path(path: Path) -> str:
    return _NOT_ALNUM.sub("-", str(path))


def decode_project_dir(encoded: str, root: Path = Path("/")) -> Path | None:
    """The existing directory whose absolute path encodes to `encoded`, else None. Walks down
    from `root`, following only entries whose encoding matches what is left of the name."""
    todo: list[tuple[Path, str]] = [(root, encoded)]
    while todo:
        here, rest = todo.pop()
        if rest == "":
            return here
        if not rest.startswith("-"):
            continue
        try:
            entries = sorted(os.scandir(here), key=lambda e: -len(e.name))
        except OSError:
            continue
        for entry in entries:
            step = "-" + encode_project_path(Path(entry.name))
            fits = rest.startswith(step) and (rest == step or rest[len(step)] == "-")
            if fits and entry.is_dir():
                todo.append((Path(entry.path), rest[len(step) :]))
    return None


def find_dirs(base: Path, project: Path | None) -> list[AutoMemoryDir]:
    """The auto-memory directories under `base` (the Claude dir): all, or `project`'s."""
    projects = base / "projects"
    if project is not None:
        wanted = project.expanduser().resolve()
        memory = projects / encode_project_path(wanted) / "memory"
        return [AutoMemoryDir(memory, wanted)] if memory.is_dir() else []
    if not projects.is_dir():
        return []
    return [
        AutoMemoryDir(entry / "memory", decode_project_dir(entry.name))
        for entry in sorted(projects.iterdir())
        if (entry / "memory").is_dir()
    ]


def read_files(memory_dir: Path) -> Iterator[tuple[Path, str | None, str]]:
    """(file, its text or None, why it was skipped) for MEMORY.md first, then each other
    Markdown file of the directory (see `read_one`)."""
    files = sorted(memory_dir.glob("*.md"), key=lambda p: (p.name != "MEMORY.md", p.name))
    for path in files:
        if path.resolve().is_file() or path.is_symlink():
            yield (path, *read_one(path))


def read_one(path: Path) -> tuple[str | None, str]:
    """The text of an auto-memory file, or None and why it was skipped: it is not UTF-8, is
    larger than MAX_FILE_BYTES, or is a symlink leading out of its directory."""
    target = path.resolve()
    if not target.is_relative_to(path.parent.resolve()):
        return None, f"skipped {path}: a symlink out of {path.parent}"
    try:
        size = target.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, f"skipped {path}: {size:,} bytes, over {MAX_FILE_BYTES:,}"
        return target.read_bytes().decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        return None, f"skipped {path}: not UTF-8 ({exc.reason} at byte {exc.start})"
    except OSError as exc:
        return None, f"skipped {path}: {exc.strerror or exc}"


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end < 0:
        return {}, text
    fields = {}
    for line in text[4:end].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip().strip("\"'")
    return fields, text[end + 4 :].lstrip("\n")


def _blocks(body: str) -> Iterator[tuple[str, str]]:
    """(heading of the section, block text) for each bullet and each paragraph."""
    heading = ""
    block: list[str] = []

    def flush() -> Iterator[tuple[str, str]]:
        text = "\n".join(block).strip()
        if text:
            yield heading, text
        block.clear()

    for line in body.splitlines():
        title = _HEADING.match(line)
        if title:
            yield from flush()
            heading = title.group(1)
        elif not line.strip():
            yield from flush()
        elif _BULLET.match(line):
            yield from flush()
            block.append(_BULLET.sub("", line, count=1))
        else:
            block.append(line.strip() if block and line[:1].isspace() else line)
    yield from flush()


def _cut(text: str, limit: int) -> Iterator[str]:
    """`text` in pieces of at most `limit` characters, cut at line ends where possible."""
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        yield text[:cut].strip()
        text = text[cut:].strip()
    if text:
        yield text


def split(text: str, source_file: str, limit: int) -> list[Piece]:
    """The memories of one auto-memory file."""
    fields, body = _front_matter(text)
    category = TYPE_CATEGORY.get(fields.get("type", ""), "facts")
    topic = fields.get("name") or fields.get("description") or ""
    pieces = []
    for heading, block in _blocks(body):
        if heading.lower() in CATEGORIES:
            # A section of a MEMORY.md that `memory export` wrote: the heading is the category.
            kind, context = heading.lower(), ""
        else:
            kind, context = category, heading or topic
        content = f"{context}: {block}" if context and not block.startswith(context) else block
        pieces += [Piece(part, kind, source_file) for part in _cut(content, limit)]
    return pieces
