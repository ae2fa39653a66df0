"""Running hooks the way Claude Code does: a real process, the event JSON on stdin."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tests import support
from tests.support import REPO, Daemon

HOOK = REPO / "hooks" / "memory_hook.py"
HOOK_MODULE = REPO / "hooks" / "_memory_hook.py"  # the code behind the HOOK entry point


def load_hook() -> ModuleType:
    """The hook's module, loaded from its file (hooks/ is no package the daemon imports)."""
    spec = importlib.util.spec_from_file_location("_memory_hook", HOOK_MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class HookRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def output(self) -> dict[str, Any] | None:
        return json.loads(self.stdout) if self.stdout.strip() else None

    def context(self) -> str:
        out = self.output()
        return "" if out is None else str(out["hookSpecificOutput"]["additionalContext"])


def hook_env(socket: Path, home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEMORY_", "CLAUDE_MEMORY", "DEBUG_CLAUDE", "DISABLE_CLAUDE"))
    }
    env.pop("XDG_RUNTIME_DIR", None)
    # The tests check what a hook injects, not how fast: on a loaded machine the default half
    # second is sometimes not enough for a daemon busy with other tests' work, and a hook
    # that gives up injects nothing. Latency is measured in bench/hook_latency.py.
    env.update(MEMORY_SOCKET=str(socket), MEMORY_HOME=str(home), MEMORY_HOOK_TIMEOUT="4")
    env.update(extra)
    return env


def run_hook(mode: str, event: dict[str, Any], env: dict[str, str]) -> HookRun:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-S", str(HOOK), mode],  # as hooks.json and `memory hooks install` run it
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=env,
        timeout=10,
    )
    return HookRun(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)


def for_daemon(daemon: Daemon, **extra: str) -> dict[str, str]:
    return hook_env(daemon.socket, daemon.home, **extra)


def hook_event(name: str, session: str, cwd: str, **fields: Any) -> dict[str, Any]:
    """The fields Claude Code sends with every hook event, then the event's own."""
    return {
        "session_id": session,
        "transcript_path": f"/tmp/{session}.jsonl",
        "cwd": cwd,
        "hook_event_name": name,
        **fields,
    }


def prompt_event(session: str, prompt: str, cwd: str) -> dict[str, Any]:
    return hook_event(
        "UserPromptSubmit",
        session,
        cwd,
        prompt_id="843acb08-0000-4000-8000-000000000000",
        permission_mode="default",
        prompt=prompt,
    )


def session_start_event(session: str, source: str, cwd: str) -> dict[str, Any]:
    return hook_event("SessionStart", session, cwd, source=source)


def pre_compact_event(session: str, cwd: str) -> dict[str, Any]:
    return hook_event("PreCompact", session, cwd, trigger="auto", custom_instructions="")


def tool_event(event_name: str, tool_name: str, session: str = "s-tool") -> dict[str, Any]:
    server = tool_name.split("__")[1] if tool_name.count("__") == 2 else ""
    return hook_event(
        event_name,
        session,
        "/tmp",
        permission_mode="default",
        tool_name=tool_name,
        tool_input={"context": "decisions"},
        tool_use_id="toolu_01",
        mcp_server={"name": server, "source": "plugin"},
    )


def store(daemon: Daemon, content: str, **fields: object) -> str:
    """tests.support.store on a client of `daemon`: the id of the memory stored."""
    return support.store(daemon.client(), content, **fields)
