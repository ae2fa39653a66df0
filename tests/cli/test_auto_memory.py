"""`memory import/export --claude-auto-memory` as real processes against a real daemon, on
Claude Code auto-memory directories laid out as Claude Code lays them out."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from memoryd.automem import decode_project_dir, encode_project_path
from tests.cli.test_cli import BIN
from tests.support import Daemon, short_tmpdir

MEMORY_MD = """\
# Project notes

## Build
- Run `make dev` to start the Apollo dashboard with hot reload.
- Tests need PostgreSQL 16;
  start it with `docker compose up db`.

## Style
Apollo uses Tailwind, never CSS modules.

- [Deploys](deploys.md) - how releases work
"""
TOPIC = """\
---
name: Deploys
description: how releases work
type: feedback
---
Releases go out on Tuesdays only; never deploy apollo-web on a Friday.
"""


def _lay_out(root: Path) -> tuple[dict[str, str], Path, Path]:
    """A HOME with a Claude dir holding two projects' auto memory (one whose directory is
    gone), and the bad files the import must skip."""
    project = root / "work" / "apollo-web"
    (project / ".git").mkdir(parents=True)
    (project / "src").mkdir()
    claude = root / ".claude"
    memory = claude / "projects" / encode_project_path(project) / "memory"
    memory.mkdir(parents=True)
    (memory / "MEMORY.md").write_text(MEMORY_MD)
    (memory / "deploys.md").write_text(TOPIC)
    (memory / "latin1.md").write_bytes("caf\xe9 au lait".encode("latin-1"))
    with (memory / "huge.md").open("wb") as big:
        big.truncate(50 * 1024 * 1024)
    outside = root / "secrets.md"
    outside.write_text("- not a memory file\n")
    (memory / "escape.md").symlink_to(outside)
    gone = claude / "projects" / "-nowhere-old-ledger" / "memory"
    gone.mkdir(parents=True)
    (gone / "MEMORY.md").write_text("- The ledger service bills in cents, never floats.\n")
    return {"HOME": str(root), "CLAUDE_CONFIG_DIR": str(claude)}, project, memory


def _memory(daemon: Daemon, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "memory"), *args],
        env={**daemon.env, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_import_splits_maps_projects_skips_bad_files_and_is_idempotent(daemon: Daemon) -> None:
    root = short_tmpdir()
    env, project, memory = _lay_out(root)

    first = _memory(daemon, env, "import", "--claude-auto-memory")
    assert first.returncode == 0, first.stderr
    assert "Added 6 memories from 3 auto-memory files; 0 were already stored" in first.stdout
    for name, why in (("latin1.md", "not UTF-8"), ("huge.md", "52,428,800 bytes"),
                      ("escape.md", "a symlink out of")):  # fmt: skip
        assert f"skipped {memory / name}: {why}" in first.stderr

    listed = daemon.client().get("/api/memories", params={"limit": 50}).json()["memories"]
    by_content = {m["content"]: m for m in listed}
    assert set(by_content) == {
        "Build: Run `make dev` to start the Apollo dashboard with hot reload.",
        "Build: Tests need PostgreSQL 16;\nstart it with `docker compose up db`.",
        "Style: Apollo uses Tailwind, never CSS modules.",
        "Style: [Deploys](deploys.md) - how releases work",
        "Deploys: Releases go out on Tuesdays only; never deploy apollo-web on a Friday.",
        "The ledger service bills in cents, never floats.",
    }
    assert {m["source"] for m in listed} == {"import"}
    assert by_content["The ledger service bills in cents, never floats."]["project"] == "ledger"
    others = [m for m in listed if "ledger" not in m["content"]]
    assert {m["project"] for m in others} == {"apollo-web"}
    deploys = next(m for m in listed if m["content"].startswith("Deploys:"))
    assert deploys["category"] == "preferences"  # front matter type: feedback

    again = _memory(daemon, env, "--json", "import", "--claude-auto-memory")
    report = json.loads(again.stdout)
    assert report["added"] == 0 and report["already_stored"] == 6
    assert daemon.client().get("/api/memories").json()["total"] == 6

    # One project only, by its path (from a subdirectory: the git work tree's name).
    (memory / "MEMORY.md").write_text(MEMORY_MD + "\n- Storybook runs on port 6006.\n")
    one = _memory(
        daemon, env, "--json", "import", "--claude-auto-memory", "--project", str(project)
    )
    assert json.loads(one.stdout)["added"] == 1, one.stderr

    exported = _memory(daemon, env, "export", "--claude-auto-memory", "--project", str(project))
    assert exported.returncode == 0, exported.stderr
    text = exported.stdout
    assert text.startswith("# Memories of apollo-web")
    assert "## Facts" in text and "## Preferences" in text
    assert "- Build: Tests need PostgreSQL 16;\n  start it with `docker compose up db`." in text
    assert "ledger" not in text
    # Read back, the exported file adds nothing new.
    target = root / ".claude" / "projects" / encode_project_path(project) / "memory"
    (target / "MEMORY.md").write_text(text)
    for name in ("deploys.md", "latin1.md", "huge.md", "escape.md"):
        (target / name).unlink()
    back = _memory(
        daemon, env, "--json", "import", "--claude-auto-memory", "--project", str(project)
    )
    assert json.loads(back.stdout) == {"added": 0, "already_stored": 6, "files": 1, "skipped": []}


def test_encoded_names_map_back_to_the_directory_on_disk() -> None:
    root = short_tmpdir()
    deep = root / "a-b" / "c.d" / "apollo-web"
    deep.mkdir(parents=True)
    (root / "a").mkdir()  # a decoy: "-a-b" could also be "/a/b"
    assert decode_project_dir(encode_project_path(deep)) == deep
    assert decode_project_dir("-no-such-dir-anywhere-xyz") is None
