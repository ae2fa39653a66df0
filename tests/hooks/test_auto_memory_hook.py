"""The auto-memory mirror: the real hook process, as Claude Code runs it on PreToolUse of
Write and Edit, against a real daemon. Writes to Claude Code's own auto-memory files land in
memoryd too; other writes touch nothing; the hook never decides for the tool call."""

from __future__ import annotations

import json
from pathlib import Path

from memoryd.automem import encode_project_path
from tests.hooks.helpers import for_daemon, hook_event, run_hook
from tests.support import Daemon, short_tmpdir


def _write(path: Path, tool: str, cwd: Path, **tool_input: object) -> dict[str, object]:
    return hook_event(
        "PreToolUse",
        "s-auto",
        str(cwd),
        permission_mode="default",
        tool_name=tool,
        tool_input={"file_path": str(path), **tool_input},
        tool_use_id="toolu_1",
    )


def test_writes_to_auto_memory_files_are_stored_in_memoryd(daemon: Daemon) -> None:
    root = short_tmpdir()
    project = root / "apollo-web"
    (project / ".git").mkdir(parents=True)
    memory = root / ".claude" / "projects" / encode_project_path(project) / "memory"
    memory.mkdir(parents=True)
    env = for_daemon(daemon)
    client = daemon.client()

    first = "# Notes\n- Apollo deploys with Argo CD.\n"
    run = run_hook(
        "auto-memory", _write(memory / "MEMORY.md", "Write", project, content=first), env
    )
    assert run.returncode == 0 and run.stdout == "", run
    listed = client.get("/api/memories").json()["memories"]
    assert [(m["content"], m["project"], m["source"]) for m in listed] == [
        ("Notes: Apollo deploys with Argo CD.", "apollo-web", "import")
    ]

    # Claude Code applies the Edit after the hook: the hook stores the text as it will be.
    (memory / "MEMORY.md").write_text(first)
    edit = _write(
        memory / "MEMORY.md",
        "Edit",
        project,
        old_string="- Apollo deploys with Argo CD.\n",
        new_string="- Apollo deploys with Argo CD.\n- Staging is in eu-west-1.\n",
    )
    assert run_hook("auto-memory", edit, env).returncode == 0
    contents = {m["content"] for m in client.get("/api/memories").json()["memories"]}
    assert contents == {"Notes: Apollo deploys with Argo CD.", "Notes: Staging is in eu-west-1."}

    # Not an auto-memory file, or not a write: nothing stored.
    for event in (
        _write(project / "README.md", "Write", project, content="- not a memory\n"),
        _write(project / "memory" / "x.md", "Write", project, content="- not a memory\n"),
        _write(memory / "MEMORY.md", "Read", project),
    ):
        assert run_hook("auto-memory", event, env).stdout == ""
    assert client.get("/api/memories").json()["total"] == 2

    answer = client.post(
        "/api/hooks/auto-memory",
        content=json.dumps(_write(memory / "t.md", "Write", project, content="- Uses pnpm.\n")),
    )
    assert answer.json() == {"file": str(memory / "t.md"), "stored": 1, "already_stored": 0}
    bad = client.post("/api/hooks/auto-memory", content=b"[1, 2]")
    assert 400 <= bad.status_code < 500 and set(bad.json()["error"]) == {"code", "message"}


def test_the_plugin_registers_the_mirror_on_write_and_edit() -> None:
    hooks = json.loads((Path(__file__).parents[2] / "hooks" / "hooks.json").read_text())
    entries = [
        e
        for e in hooks["hooks"]["PreToolUse"]
        if any(h.get("args", [])[-1:] == ["auto-memory"] for h in e["hooks"])
    ]
    assert [e["matcher"] for e in entries] == ["^(Write|Edit|MultiEdit)$"]


def test_instead_mode_stores_the_note_and_denies_the_write(daemon: Daemon) -> None:
    root = short_tmpdir()
    project = root / "ledger"
    (project / ".git").mkdir(parents=True)
    memory = root / ".claude" / "projects" / encode_project_path(project) / "memory"
    env = for_daemon(daemon, MEMORY_CLAUDE_AUTO_MEMORY="instead")
    note = _write(memory / "MEMORY.md", "Write", project, content="- Ledger bills in cents.\n")
    run = run_hook("auto-memory", note, env)
    decision = json.loads(run.stdout)["hookSpecificOutput"]
    assert decision["hookEventName"] == "PreToolUse"
    assert decision["permissionDecision"] == "deny"
    assert "memoryd stored this note instead (1 new" in decision["permissionDecisionReason"]
    listed = daemon.client().get("/api/memories").json()["memories"]
    assert [(m["content"], m["project"]) for m in listed] == [("Ledger bills in cents.", "ledger")]
    # Other files are left alone, and the hook prints nothing for them.
    other = _write(project / "notes.md", "Write", project, content="- x\n")
    assert run_hook("auto-memory", other, env).stdout == ""
