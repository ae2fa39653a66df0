"""POST /api/hooks/auto-memory: the PreToolUse relay of Claude Code's Write and Edit calls.

When Claude Code is about to write one of its own auto-memory files
(`.../projects/<encoded path>/memory/*.md`), the file's new text is split as
`memory import --claude-auto-memory` splits it and stored in memoryd too (source "import";
the store merges exact duplicates, so rewriting a file stores only what is new). Any other
tool call or file is answered `{"stored": 0, ...}` and touches nothing. The answer carries no
decision: the write goes ahead as Claude Code intended; unless `?instead=1` (the hook sends it
when MEMORY_CLAUDE_AUTO_MEMORY=instead), where a write to an auto-memory file is stored in
memoryd and then denied, with a reason telling the model where the note went.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memory_core.http.routing import endpoint
from memoryd import automem
from memoryd.api.components import components
from memoryd.sessions.project import project_for
from memoryd.store.records import NewMemory

EVENT_LIMIT = 2 * 1024 * 1024  # a Write of a whole file, with room to spare
WRITING_TOOLS = frozenset({"Write", "Edit", "MultiEdit"})


class ToolEventIn(BaseModel):
    """The part of a PreToolUse event this endpoint reads."""

    model_config = ConfigDict(extra="ignore")

    cwd: Annotated[str, StringConstraints(max_length=4096)] | None = None
    tool_name: Annotated[str, StringConstraints(max_length=200)] = ""
    tool_input: dict[str, Any] = {}


class MirroredOut(BaseModel):
    file: str | None  # the auto-memory file written, or None when the call was not one
    stored: int
    already_stored: int


def auto_memory_file(file_path: str) -> Path | None:
    """`file_path` if it is a Markdown file of a Claude Code auto-memory directory."""
    path = Path(file_path)
    if not path.is_absolute() or path.suffix != ".md" or path.parent.name != "memory":
        return None
    return path if path.parent.parent.parent.name == "projects" else None


def _edited(path: Path, edits: list[dict[str, Any]]) -> str:
    """The file's text after Claude Code applies `edits` (old_string → new_string)."""
    # A file not there yet is empty; one automem.read_one refuses (too big, not UTF-8, a
    # symlink out of the directory) is edited as if empty too, so only the new text counts.
    text = (automem.read_one(path)[0] or "") if path.exists() else ""
    for edit in edits:
        old, new = str(edit.get("old_string", "")), str(edit.get("new_string", ""))
        if old:
            text = text.replace(old, new) if edit.get("replace_all") else text.replace(old, new, 1)
        else:
            text = new + text
    return text


def new_text(event: ToolEventIn, path: Path) -> str:
    given = event.tool_input
    if event.tool_name == "Write":
        return str(given.get("content", ""))
    edits = given.get("edits") if event.tool_name == "MultiEdit" else [given]
    return _edited(path, [e for e in edits or [] if isinstance(e, dict)])


def _denied(out: MirroredOut) -> Response:
    reason = (
        f"memoryd stored this note instead ({out.stored} new, {out.already_stored} already "
        "stored); in this setup Claude Code's auto-memory files are not written. Use "
        "memory_store to remember and memory_recall to look things up."
    )
    decision = {
        "hookEventName": "PreToolUse",
        "permissionDecision": "deny",
        "permissionDecisionReason": reason,
    }
    return JSONResponse({"hookSpecificOutput": decision})


async def on_auto_memory_write(request: Request, event: ToolEventIn) -> MirroredOut | Response:
    """Mirror a write to a Claude Code auto-memory file into memoryd (or store it instead)."""
    out = await _mirror(request, event)
    instead = request.query_params.get("instead") == "1"
    return _denied(out) if instead and out.file is not None else out


async def _mirror(request: Request, event: ToolEventIn) -> MirroredOut:
    path = auto_memory_file(str(event.tool_input.get("file_path", "")))
    if event.tool_name not in WRITING_TOOLS or path is None:
        return MirroredOut(file=None, stored=0, already_stored=0)
    found = automem.decode_project_dir(path.parent.parent.name)
    project = project_for(str(found) if found else event.cwd)
    parts = components(request)
    pieces = automem.split(new_text(event, path), path.name, parts.settings.max_content_chars)
    if not pieces:
        return MirroredOut(file=str(path), stored=0, already_stored=0)
    result = await parts.store.import_many(
        [
            NewMemory(
                content=piece.content,
                category=piece.category,
                tags=["claude-auto-memory"],
                project=project,
                source="import",
            )
            for piece in pieces
        ]
    )
    return MirroredOut(
        file=str(path), stored=result.imported, already_stored=result.duplicates + result.existing
    )


ENDPOINTS = (
    endpoint(
        "POST",
        "/api/hooks/auto-memory",
        on_auto_memory_write,
        body=ToolEventIn,
        body_limit=EVENT_LIMIT,
        answer=MirroredOut,
        query=("instead",),
    ),
)
