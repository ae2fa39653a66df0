#!/usr/bin/env python3
"""Run this project's Python code in the plugin's own virtual environment, creating it first.

Claude Code installs no Python dependencies for plugins, so the plugin keeps a venv under
${CLAUDE_PLUGIN_DATA} with this checkout pip-installed into it. The venv is per plugin version
(`venv-<version>` from .claude-plugin/plugin.json): a new version gets a fresh venv, and the
other versions' venvs are removed once it is ready. The first session after install waits for
the install (about 15 s with a warm pip cache); later sessions start it directly. The install
runs in a process of its own session, so that it completes even if Claude Code stops waiting
for that first server and kills it.

Usage (exec form in .mcp.json or hooks/hooks.json; the interpreter only needs Python 3.8+):

    python3 ${CLAUDE_PLUGIN_ROOT}/scripts/plugin_python.py -m mcp_shim
        create/update the venv if needed, then exec `<venv>/bin/python -m mcp_shim`
    python3 ${CLAUDE_PLUGIN_ROOT}/scripts/plugin_python.py --if-ready -m hooks.something
        for hooks: exec only if the venv is ready; otherwise exit 0 at once, printing nothing
        (a hook must never wait for an install)
    python3 ${CLAUDE_PLUGIN_ROOT}/scripts/plugin_python.py --print
        create/update the venv if needed and print its interpreter's path (nothing else)

Everything after the options goes to the venv's python unchanged. Nothing but the exec'd
program ever writes to stdout (it may be an MCP stdio stream); install output goes to
<data>/install.log, one-line errors to stderr.

Environment:
    CLAUDE_PLUGIN_ROOT     the plugin directory (default: this script's parent's parent)
    CLAUDE_PLUGIN_DATA     where the venvs live (default: ~/.local/share/memoryd-plugin)
    MEMORYD_PLUGIN_PYTHON  use this interpreter instead of a venv (development and tests; it
                           must already have memoryd installed)
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

MIN_PYTHON = (3, 11)
CANDIDATES = ("python3.13", "python3.12", "python3.11", "python3")
STAMP = ".memoryd-plugin-version"
INSTALL = "--install-detached"  # internal: the child that install_detached() starts


def fail(message: str, quiet: bool) -> int:
    if not quiet:
        sys.stderr.write(f"memoryd plugin: {message}\n")
    return 0 if quiet else 1


def plugin_root() -> Path:
    root = os.environ.get("CLAUDE_PLUGIN_ROOT")
    return Path(root) if root else Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    data = os.environ.get("CLAUDE_PLUGIN_DATA")
    if data:
        return Path(data)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "memoryd-plugin"


def plugin_version(root: Path) -> str:
    manifest = json.loads((root / ".claude-plugin" / "plugin.json").read_text())
    return str(manifest.get("version") or "0")


def base_python() -> str:
    """An interpreter new enough for the project: this one, else the newest on PATH."""
    if sys.version_info[:2] >= MIN_PYTHON:
        return sys.executable
    for name in CANDIDATES:
        found = shutil.which(name)
        if not found:
            continue
        probe = subprocess.run(
            [found, "-c", "import sys; print(sys.version_info[:2] >= (3, 11))"],
            capture_output=True,
            text=True,
        )
        if probe.stdout.strip() == "True":
            return found
    raise RuntimeError(
        "memoryd needs Python 3.11 or newer; install it (python3.11+ on PATH) and restart"
    )


def ready(venv: Path, version: str) -> bool:
    try:
        return (venv / STAMP).read_text().strip() == version and (venv / "bin" / "python").exists()
    except OSError:
        return False


def install(root: Path, data: Path, venv: Path, version: str) -> None:
    """Build the venv for `version` (under the install lock), then drop other versions'."""
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(data / "install.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session may be installing: wait for it
        if ready(venv, version):
            return
        with open(data / "install.log", "a") as log:
            log.write(f"--- installing memoryd plugin {version} from {root}\n")
            log.flush()
            if venv.exists():
                shutil.rmtree(venv)
            steps = [
                [base_python(), "-m", "venv", str(venv)],
                [
                    str(venv / "bin" / "python"),
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    str(root),
                ],
            ]
            for step in steps:
                done = subprocess.run(
                    step, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=str(data)
                )
                if done.returncode != 0:
                    raise RuntimeError(
                        f"`{' '.join(step[:4])} …` failed (status {done.returncode}); "
                        f"see {data / 'install.log'}"
                    )
            (venv / STAMP).write_text(version + "\n")
            log.write(f"--- installed memoryd plugin {version}\n")
        for old in data.glob("venv-*"):
            if old != venv:
                shutil.rmtree(old, ignore_errors=True)


def install_detached() -> None:
    """Run install() as a process of its own session. A first install on a slow network can
    outlast Claude Code's wait for an MCP server (MCP_TIMEOUT, 30 s), or the session itself;
    if Claude Code then kills this process, the detached install carries on to the end, so the
    next session starts at once instead of installing again."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), INSTALL],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"install failed (status {done.returncode})")


def main(argv: list[str]) -> int:
    quiet = bool(argv) and argv[0] == "--if-ready"
    show = bool(argv) and argv[0] == "--print"
    args = argv[1:] if quiet or show else argv
    if argv == [INSTALL]:  # install_detached's child
        root, data = plugin_root(), data_dir()
        try:
            version = plugin_version(root)
            install(root, data, data / f"venv-{version}", version)
        except (OSError, ValueError, RuntimeError) as exc:
            sys.stderr.write(f"{exc}\n")
            return 1
        return 0

    override = os.environ.get("MEMORYD_PLUGIN_PYTHON")
    if override:
        python = override
    else:
        root, data = plugin_root(), data_dir()
        try:
            version = plugin_version(root)
        except (OSError, ValueError) as exc:
            return fail(f"cannot read {root}/.claude-plugin/plugin.json: {exc}", quiet)
        venv = data / f"venv-{version}"
        if not ready(venv, version):
            if quiet:
                return 0
            try:
                install_detached()
            except (OSError, RuntimeError) as exc:
                return fail(str(exc), quiet)
        python = str(venv / "bin" / "python")
    if show:
        sys.stdout.write(python + "\n")
        return 0
    os.execv(python, [python, *args])  # noqa: S606 - the venv python replaces this process
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
