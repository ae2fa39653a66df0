"""`memory doctor`: check the installation, socket, database and key file; say how to fix each.

Every check is read-only except the FTS integrity check, which SQLite runs as a (changeless)
write statement, the optional FTS rebuild, and the probe that tells a full disk (a 64 KiB file
beside the database, removed at once). Works with or without a running daemon.
"""

from __future__ import annotations

import json
import os
import plistlib
import shlex
import stat
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from memory_core.config import Settings
from memory_core.handover import daemon_is_older
from memory_core.version import PROTOCOL, __version__
from memoryd.doctor_data import Check, check_database, check_key, file_mode
from memoryd.service.install import launchd_path, platform_name, systemd_dir
from memoryd.service.units import UNIT_NAME


def _service_python(unit: Path) -> str:
    """The interpreter an installed unit or plist runs ("" when it cannot be read)."""
    try:
        if unit.suffix == ".plist":
            args = plistlib.loads(unit.read_bytes()).get("ProgramArguments") or [""]
            return str(args[0])
        for line in unit.read_text().splitlines():
            if line.startswith("ExecStart="):
                words = shlex.split(line.removeprefix("ExecStart="))
                return words[0].replace("%%", "%") if words else ""
    except (OSError, ValueError, plistlib.InvalidFileException):
        return ""
    return ""


def check_installation(settings: Settings, home: Path | None = None) -> list[Check]:
    found = [
        Check("install", "ok", f"memoryd {__version__} (protocol {PROTOCOL}), {sys.executable}")
    ]
    home = home or Path.home()
    if platform_name() == "systemd":
        unit = systemd_dir(home=home) / f"{UNIT_NAME}.service"
    else:
        unit = launchd_path(home)
    if not unit.exists():
        found.append(
            Check(
                "service",
                "ok",
                "not installed as a service (optional; clients start memoryd on demand)",
                "`memoryd install-service` keeps it running and restarts it after a crash",
            )
        )
        return found
    python = _service_python(unit)
    if python and not Path(python).exists():
        found.append(
            Check(
                "service",
                "fail",
                f"{unit} runs {python}, which no longer exists",
                "run `memoryd install-service` again from the environment memoryd is installed in",
            )
        )
    else:
        found.append(Check("service", "ok", f"installed: {unit}"))
    return found


def check_socket(settings: Settings, health: dict[str, Any] | None) -> list[Check]:
    path = settings.socket_path
    found: list[Check] = []
    directory = path.parent
    if directory.exists():
        info = directory.stat()
        if info.st_uid != os.getuid():
            found.append(
                Check(
                    "socket",
                    "fail",
                    f"{directory} belongs to uid {info.st_uid}, not you",
                    "remove it (as its owner) or set MEMORY_SOCKET to a path of yours",
                )
            )
        elif file_mode(directory) != 0o700:
            found.append(
                Check(
                    "socket",
                    "fail",
                    f"{directory} has mode {file_mode(directory):04o}; "
                    "others could reach the socket",
                    f"chmod 700 {directory}",
                )
            )
    if path.exists() and not stat.S_ISSOCK(path.lstat().st_mode):
        found.append(
            Check(
                "socket",
                "fail",
                f"{path} exists but is not a socket",
                f"move it aside (mv {path} {path}.old); memoryd will create the socket",
            )
        )
    elif path.exists() and file_mode(path) != 0o600:
        found.append(
            Check("socket", "fail", f"{path} has mode {file_mode(path):04o}", f"chmod 600 {path}")
        )
    if health is not None:
        detail = f"memoryd {health.get('version')} (pid {health.get('pid')}) answers on {path}"
        if daemon_is_older(health, __version__, PROTOCOL):
            found.append(
                Check(
                    "daemon",
                    "warn",
                    detail + f", older than the installed {__version__}",
                    "it hands over to the new version when the next session starts; or restart "
                    "it now: `systemctl --user restart memoryd` (or stop it and `memoryd serve`)",
                )
            )
        else:
            found.append(Check("daemon", "ok", detail))
    elif path.exists():
        found.append(
            Check(
                "daemon",
                "warn",
                f"{path} exists but no memoryd answers on it (stale, or still starting)",
                "start it: `memoryd serve` (or `systemctl --user start memoryd`); the stale "
                "socket is replaced",
            )
        )
    else:
        found.append(
            Check(
                "daemon",
                "warn",
                f"memoryd is not running (no socket at {path})",
                "it starts on demand with the next session; or run `memoryd serve`",
            )
        )
    return found


def run_checks(
    settings: Settings, health: dict[str, Any] | None, *, rebuild_fts: bool = False
) -> list[Check]:
    return [
        *check_installation(settings),
        *check_socket(settings, health),
        *check_database(settings, rebuild_fts),
        *check_key(settings),
    ]


def render(checks: list[Check], as_json: bool) -> str:
    if as_json:
        return json.dumps([asdict(c) for c in checks], indent=2)
    lines = []
    for check in checks:
        mark = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}[check.status]
        lines.append(f"[{mark}] {check.area:<9} {check.detail}")
        if check.fix and check.status != "ok":
            lines.append(f"{'':17}fix: {check.fix}")
    failed = sum(c.status == "fail" for c in checks)
    lines.append("All good." if not failed else f"{failed} problem(s) need fixing.")
    return "\n".join(lines)


def doctor_command(settings: Settings, args: Any) -> int:
    """`memory doctor [--rebuild-fts]`: 0 when nothing failed, 1 otherwise."""
    from memory_core.unix_http import probe_health

    checks = run_checks(
        settings, probe_health(settings.socket_path, 3.0), rebuild_fts=bool(args.rebuild_fts)
    )
    print(render(checks, bool(args.json)))
    return 1 if any(c.status == "fail" for c in checks) else 0
