"""`memory import --claude-auto-memory` and `memory export --claude-auto-memory`: Claude Code's
own auto-memory files (memoryd.automem) into memoryd and back.

Import sends each file's memories through POST /api/memories/import with source "import": the
store merges exact duplicates, so a second run adds nothing. The project of each directory is
memoryd's name for it (memoryd.sessions.project: the git repository's name, else the
directory's), found by mapping Claude Code's encoded directory name back to the path.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from memory_core.config import DEFAULT_MAX_CONTENT
from memory_core.model import CATEGORIES
from memoryd import automem
from memoryd.cli.client import DaemonClient
from memoryd.sessions.project import project_for

EXPORT_PAGE = 500


def _claude_dir() -> Path:
    return automem.claude_dir(dict(os.environ), Path.home())


def _project_name(found: automem.AutoMemoryDir) -> str | None:
    if found.project_path is not None:
        return project_for(str(found.project_path))
    # The project's directory is gone: its encoded name's last part is the best guess.
    return found.path.parent.name.rsplit("-", 1)[-1] or None


def import_auto_memory(client: DaemonClient, args: argparse.Namespace) -> dict[str, Any]:
    project = Path(args.project) if args.project else None
    dirs = automem.find_dirs(_claude_dir(), project)
    report: dict[str, Any] = {"added": 0, "already_stored": 0, "files": 0, "skipped": []}
    if not dirs:
        where = f" for {project}" if project else ""
        report["skipped"].append(f"no Claude Code auto memory found{where} in {_claude_dir()}")
    for found in dirs:
        name = _project_name(found)
        for path, text, why in automem.read_files(found.path):
            if text is None:
                report["skipped"].append(why)
                continue
            pieces = automem.split(text, path.name, DEFAULT_MAX_CONTENT)
            report["files"] += 1
            if not pieces:
                continue
            body = [
                {
                    "content": piece.content,
                    "category": piece.category,
                    "tags": ["claude-auto-memory"],
                    "project": name,
                    "source": "import",
                }
                for piece in pieces
            ]
            out = client.request("POST", "/api/memories/import", json=body)
            report["added"] += out["imported"]
            report["already_stored"] += out["duplicates"] + out["existing"]
    return report


def print_report(report: dict[str, Any]) -> None:
    for why in report["skipped"]:
        print(why, file=sys.stderr)
    print(
        f"Added {report['added']} memories from {report['files']} auto-memory files; "
        f"{report['already_stored']} were already stored"
    )


def add_flags(p: argparse.ArgumentParser, what: str, project: str) -> None:
    p.add_argument("--claude-auto-memory", action="store_true", help=what)
    p.add_argument("--project", metavar=project, help="only this project (default: all / cwd)")


def cmd_export(client: DaemonClient, args: argparse.Namespace) -> None:
    markdown = export_auto_memory(client, args)
    if args.output:
        Path(args.output).write_text(markdown)
    else:
        sys.stdout.write(markdown)


def _project_of(value: str | None) -> str | None:
    """--project as a path (memoryd's name for its project) or as a project name."""
    if value is None:
        return project_for(os.getcwd())
    path = Path(value).expanduser()
    return project_for(str(path.resolve())) if path.is_dir() else value


def export_auto_memory(client: DaemonClient, args: argparse.Namespace) -> str:
    """A project's memories as a MEMORY.md: one section per category, one bullet each."""
    project = _project_of(args.project)
    memories: list[dict[str, Any]] = []
    while True:
        page = client.request(
            "GET",
            "/api/memories",
            params={"project": project, "limit": EXPORT_PAGE, "offset": len(memories)},
        )
        memories += page["memories"]
        if not page["memories"] or len(memories) >= page["total"]:
            break
    lines = [f"# Memories of {project} (exported from memoryd)", ""]
    for category in CATEGORIES:
        chosen = [m for m in memories if m["category"] == category]
        if not chosen:
            continue
        lines += [f"## {category.capitalize()}", ""]
        for memory in sorted(chosen, key=lambda m: (-m["importance"], m["created_at"])):
            first, *rest = str(memory["content"]).splitlines() or [""]
            lines.append(f"- {first}")
            lines += [f"  {line}" if line.strip() else "" for line in rest]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
