"""`memory hooks install|uninstall` (Claude Code settings.json for a pip install) and
`memory learned` (what auto-learn stored, with its reasons, and undo)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from memory_core.clock import iso_from_ms
from memory_core.config import Settings
from memory_core.errors import InvalidInput
from memoryd.cli.client import DaemonClient
from memoryd.cli.render import one_line, short_id

HOOK_SCRIPT = "memory_hook.py"
# Our MCP tools under the manual server name and the plugin-scoped one.
TOOLS = "^mcp__(memory|plugin_memoryd_memory)__"


def hook_script() -> Path:
    """The stdlib-only hook: in a checkout (or editable install) next to the package, in a
    wheel install under <prefix>/share/memoryd/hooks."""
    here = Path(__file__).resolve().parent.parent.parent
    for candidate in (
        here / "hooks" / HOOK_SCRIPT,
        Path(sys.prefix) / "share" / "memoryd" / "hooks" / HOOK_SCRIPT,
    ):
        if candidate.is_file():
            return candidate
    raise InvalidInput(
        f"cannot find hooks/{HOOK_SCRIPT} next to the memoryd package or under "
        f"{sys.prefix}/share/memoryd/hooks; reinstall memoryd"
    )


def hooks_config(python: str, script: Path) -> dict[str, list[dict[str, Any]]]:
    # The prompt hook stays a command hook here, where the plugin's is an `mcp_tool` hook
    # through its MCP shim: an mcp_tool hook names its server, and this install registers none
    # (`claude mcp add` is the user's own step, under a name of their choosing, or not at all).
    # Naming one that is not connected would report a hook error at every prompt.
    # Stop and PostToolUse are synchronous on purpose: they take ~20 ms, and Claude Code kills
    # async hooks when a `claude -p` run ends, which would lose the turn's learning.
    def group(mode: str, matcher: str | None = None) -> list[Any]:
        handler: dict[str, Any] = {
            "type": "command",
            "command": python,
            "args": ["-S", str(script), mode],  # -S: no site-packages, starts ~3x faster
            "timeout": 5,
        }
        entry: dict[str, Any] = {"hooks": [handler]}
        if matcher is not None:
            entry = {"matcher": matcher, **entry}
        return [entry]

    ours = TOOLS + r"(memory_\w+|secret_get)$"
    return {
        "SessionStart": group("session-start", "startup|resume|clear|compact"),
        "UserPromptSubmit": group("prompt"),
        "PreCompact": group("pre-compact", "manual|auto"),
        "Stop": group("stop"),
        "PostToolUse": group(
            "tool-used",
            TOOLS + "(memory_recall|memory_list|memory_store|memory_update)$",
        ),
        "PreToolUse": group("approve", ours),
        "PermissionRequest": group("approve", ours),
    }


def _is_ours(group: Any) -> bool:
    if not isinstance(group, dict):
        return False
    for handler in group.get("hooks", []):
        if not isinstance(handler, dict):
            continue
        words = [str(handler.get("command", "")), *map(str, handler.get("args", []))]
        if any(w.endswith(HOOK_SCRIPT) or f"/{HOOK_SCRIPT} " in w for w in words):
            return True
    return False


def merge(settings: dict[str, Any], ours: dict[str, list[dict[str, Any]]] | None) -> int:
    """Replace memoryd's hook groups in `settings` (others' stay); returns how many removed."""
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise InvalidInput("the settings file's `hooks` is not an object; fix it by hand first")
    removed = 0
    for event in list(hooks):
        groups = hooks[event] if isinstance(hooks[event], list) else []
        kept = [g for g in groups if not _is_ours(g)]
        removed += len(groups) - len(kept)
        if kept:
            hooks[event] = kept
        else:
            del hooks[event]
    for event, groups in (ours or {}).items():
        hooks.setdefault(event, []).extend(groups)
    if not hooks:
        del settings["hooks"]
    return removed


def settings_path(args: argparse.Namespace) -> Path:
    if args.settings:
        return Path(args.settings).expanduser()
    if args.project:
        return Path.cwd() / ".claude" / "settings.json"
    return Path("~/.claude/settings.json").expanduser()


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".settings.", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(data, indent=2) + "\n")
    if path.exists():
        os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text() or "{}")
    except ValueError as exc:
        raise InvalidInput(f"{path} is not valid JSON ({exc}); fix it by hand first") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} does not hold a JSON object")
    return data


def cmd_hooks(settings: Settings, args: argparse.Namespace) -> int:
    """Local: edits a settings file, needs no daemon."""
    path = settings_path(args)
    install = args.action == "install"
    ours = hooks_config(sys.executable, hook_script()) if install else None
    if install and args.print:
        print(json.dumps({"hooks": ours}, indent=2))
        return 0
    data = _read(path)
    removed = merge(data, ours)
    _write(path, data)
    if args.json:
        print(json.dumps({"settings": str(path), "installed": install, "replaced": removed}))
    elif install:
        print(f"memoryd hooks written to {path} ({sys.executable})")
        print("Restart Claude Code sessions to pick them up; `/hooks` lists them.")
    else:
        print(f"Removed {removed} memoryd hook group(s) from {path}")
    return 0


def cmd_learned(client: DaemonClient, args: argparse.Namespace) -> None:
    if args.undo is not None:
        out = client.request("POST", f"/api/learn/learned/{args.undo}/undo")
        if args.json:
            print(json.dumps(out, indent=2))
        else:
            print(f"Entry {out['entry']} ({out['memory_id']}): {out['undone']}")
        return
    entries = client.request("GET", "/api/learn/learned", params={"limit": args.limit})["learned"]
    status = client.request("GET", "/api/learn/status")
    if args.json:
        print(json.dumps({"learned": entries, "status": status}, indent=2, ensure_ascii=False))
        return
    print(f"auto-learn {status['status']}")
    today = status["today"]
    print(
        f"today: {today['tokens']} of {status['daily_tokens']} tokens in {today['calls']} "
        f"call(s); {status['pending']} transcript(s) pending"
    )
    if not entries:
        print("Nothing learned yet.")
        return
    for e in entries:
        action = e["action"] + (" (undone)" if e["undone"] else "")
        when = iso_from_ms(e["at_ms"])[:16].replace("T", " ")
        print(f"#{e['entry']}  {when} UTC  {action} {e['kind']}  {short_id(e['memory_id'])}")
        print(f"    {e['content'] or '[deleted]'}")
        if e["previous_content"]:
            print(f"    was: {one_line(e['previous_content'], 200)}")
        print(f"    why: {e['reason']}")
    print("Undo one with `memory learned --undo ENTRY`.")


def add_commands(sub: Any) -> None:
    p = sub.add_parser("hooks", help="wire the Claude Code hooks into settings.json")
    p.add_argument("action", choices=["install", "uninstall"])
    p.add_argument("--settings", help="settings file (default: ~/.claude/settings.json)")
    p.add_argument("--project", action="store_true", help="this project's .claude/settings.json")
    p.add_argument("--print", action="store_true", help="print the hooks JSON, write nothing")
    p.set_defaults(local=cmd_hooks)

    p = sub.add_parser("learned", help="what auto-learn stored recently, with its reasons")
    p.add_argument("-n", "--limit", type=int, default=20)
    p.add_argument("--undo", type=int, metavar="ENTRY", help="undo one entry")
    p.set_defaults(func=cmd_learned)
