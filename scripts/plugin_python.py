#!/usr/bin/env python3
"""Run this project's Python code in the plugin's own environment, building it first if needed.

Claude Code installs no Python dependencies for plugins, so the plugin keeps a venv under
${CLAUDE_PLUGIN_DATA} (plugin_env/: one per plugin version, built by a process of its own
that outlives the session, one build at a time). The plugin's MCP server does not come
through here: it is scripts/mcp_front.py, which serves the tools at once while a build runs.

Usage (the interpreter only needs Python 3.9+; the environment gets 3.11+ from PATH):

    python3 plugin_python.py -m mcp_shim …  build if needed (waiting for it), then exec
                                            `<venv>/bin/python -m mcp_shim …`
    python3 plugin_python.py --if-ready …   exec only if the venv is ready, else exit 0 at once,
                                            printing nothing (a hook must never wait)
    python3 plugin_python.py --print        build if needed, print the venv's python
    python3 plugin_python.py --start        start a detached build if none is running and the
                                            venv is not ready; exit 0 at once, silently (hooks)
    python3 plugin_python.py --install      build in the foreground and say how it went (the
                                            command the tools give when a build failed)

Nothing but the exec'd program ever writes to stdout (it may be an MCP stdio stream); build
output goes to <data>/install.log, one-line errors to stderr.

Environment:
    CLAUDE_PLUGIN_ROOT     the plugin directory (default: this script's parent's parent)
    CLAUDE_PLUGIN_DATA     where the venvs live (default: ~/.local/share/memoryd-plugin)
    MEMORYD_PLUGIN_PYTHON  use this interpreter instead of a venv (development and tests; it
                           must already have memoryd installed)
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugin_env.layout import Layout, LayoutError  # noqa: E402 - after the path is set
from plugin_env.runner import build_main, start_detached, wait_for_build  # noqa: E402


def say(line: str) -> None:
    sys.stderr.write(f"{line}\n")


def ensure(layout: Layout) -> str | None:
    """The venv's python once a build (detached, so that it survives this process) is done;
    None, having said why, if the environment is still not ready."""
    if not layout.ready():
        start_detached(layout, "plugin_python.py")
        wait_for_build(layout)
    if layout.ready():
        return str(layout.python)
    from plugin_env.front import failure_text

    say(f"memoryd plugin: {failure_text(layout)}")
    return None


def main(argv: list[str]) -> int:
    mode = argv[0] if argv and argv[0].startswith("--") else ""
    args = argv[1:] if mode else argv
    override = os.environ.get("MEMORYD_PLUGIN_PYTHON")
    python: str | None = None
    if override and mode not in ("--start", "--install", "--build"):
        python = override
    else:
        try:
            layout = Layout.from_environ(os.environ, ROOT)
        except LayoutError as exc:
            if mode in ("--if-ready", "--start"):
                return 0
            say(f"memoryd plugin: {exc}")
            return 1
        if mode == "--build":  # the detached build: --build --lock-fd N --by WHO
            options = {args[i]: args[i + 1] for i in range(0, len(args) - 1, 2)}
            return build_main(layout, options["--by"], int(options["--lock-fd"]), lambda _: None)
        if mode == "--install":
            return build_main(layout, "the retry command", None, say)
        if mode == "--start":
            with contextlib.suppress(OSError):
                start_detached(layout, "a hook")
            return 0
        if mode == "--if-ready":
            if not layout.ready():
                return 0
            python = str(layout.python)
        else:
            try:
                python = ensure(layout)
            except OSError as exc:
                say(f"memoryd plugin: {exc}")
                return 1
    if python is None:
        return 1
    if mode == "--print":
        sys.stdout.write(python + "\n")
        return 0
    os.execv(python, [python, *args])  # noqa: S606 - the venv python replaces this process
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
