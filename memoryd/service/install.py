"""`memoryd install-service` / `uninstall-service`: write the units, enable, start, and say so.

Commands go through `run` (argv → exit status and output), so the same code prints a plan
(`--dry-run`) or executes it. A memoryd already running outside the service manager is
stopped first (SIGTERM, then we wait for it): otherwise the socket unit would replace its
socket file and leave it serving nobody while holding the database lock.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from memory_core.handover import wait_gone
from memory_core.private_files import FILE_MODE, make_private_dirs, write_private_file
from memoryd.service.units import (
    LAUNCHD_LABEL,
    UNIT_NAME,
    ServiceSpec,
    env_file_text,
    launchd_plist_bytes,
    systemd_service_unit,
    systemd_socket_unit,
)

Runner = Callable[[list[str]], tuple[int, str]]


def run_command(argv: list[str]) -> tuple[int, str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        return 127, f"{argv[0]}: command not found"
    return done.returncode, (done.stdout + done.stderr).strip()


def platform_name() -> str:
    return "launchd" if sys.platform == "darwin" else "systemd"


@dataclass
class Plan:
    """Files to write (path → bytes, mode) and commands to run, in order."""

    files: list[tuple[Path, bytes, int]] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)
    remove: list[Path] = field(default_factory=list)


def systemd_dir(environ: dict[str, str] | None = None, home: Path | None = None) -> Path:
    env = os.environ if environ is None else environ
    config = env.get("XDG_CONFIG_HOME") or str((home or Path.home()) / ".config")
    return Path(config) / "systemd" / "user"


def launchd_path(home: Path) -> Path:
    return home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"


def install_plan(spec: ServiceSpec, platform: str, unit_dir: Path | None = None) -> Plan:
    plan = Plan()
    if platform == "systemd":
        directory = unit_dir or systemd_dir(home=spec.home)
        plan.files.append(
            (directory / f"{UNIT_NAME}.socket", systemd_socket_unit(spec).encode(), 0o644)
        )
        plan.files.append(
            (directory / f"{UNIT_NAME}.service", systemd_service_unit(spec).encode(), 0o644)
        )
        if spec.secrets:
            plan.files.append((spec.env_file, env_file_text(spec).encode(), 0o600))
        plan.commands += [
            ["systemctl", "--user", "daemon-reload"],
            ["systemctl", "--user", "enable", "--now", f"{UNIT_NAME}.socket"],
            ["systemctl", "--user", "enable", "--now", f"{UNIT_NAME}.service"],
        ]
    else:
        domain = f"gui/{os.getuid()}"
        plist = launchd_path(spec.home)
        # 0600 when the plist carries a secret; launchd only needs it owned by the user.
        plan.files.append((plist, launchd_plist_bytes(spec), 0o600 if spec.secrets else 0o644))
        plan.commands += [
            ["launchctl", "bootout", f"{domain}/{LAUNCHD_LABEL}"],  # a previous version, if any
            ["launchctl", "bootstrap", domain, str(plist)],
        ]
    return plan


def uninstall_plan(spec: ServiceSpec, platform: str, unit_dir: Path | None = None) -> Plan:
    plan = Plan()
    if platform == "systemd":
        directory = unit_dir or systemd_dir(home=spec.home)
        plan.commands += [
            ["systemctl", "--user", "disable", "--now", f"{UNIT_NAME}.service"],
            ["systemctl", "--user", "disable", "--now", f"{UNIT_NAME}.socket"],
        ]
        plan.remove += [
            directory / f"{UNIT_NAME}.service",
            directory / f"{UNIT_NAME}.socket",
            spec.env_file,
        ]
        plan.commands.append(["systemctl", "--user", "daemon-reload"])
    else:
        plan.commands.append(["launchctl", "bootout", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"])
        plan.remove.append(launchd_path(spec.home))
    return plan


def print_plan(plan: Plan, out: TextIO) -> None:
    for path, data, mode in plan.files:
        print(f"# {path} (mode {mode:04o})", file=out)
        print(data.decode().rstrip("\n"), file=out)
        print(file=out)
    for path in plan.remove:
        print(f"# would remove {path}", file=out)
    for argv in plan.commands:
        print("$ " + " ".join(argv), file=out)


def _write(path: Path, data: bytes, mode: int) -> None:
    if mode == FILE_MODE:  # secrets (the env file in MEMORY_HOME, a plist holding them)
        make_private_dirs(path.parent)
        write_private_file(path, data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def stop_unmanaged_daemon(pid: int | None, out: TextIO) -> None:
    """Stop a memoryd started outside the service manager (the shim's autostart, a shell)."""
    if pid is None or pid == os.getpid():
        return
    print(
        f"stopping the memoryd already running (pid {pid}) so the service can take over", file=out
    )
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if not wait_gone(pid, 30.0):
        raise SystemExit(f"memoryd: pid {pid} did not stop; stop it and run this again")


def execute(plan: Plan, out: TextIO, run: Runner = run_command, *, strict: bool = True) -> int:
    """Apply the plan, printing each step. Returns 0, or the first failing command's status."""
    for path, data, mode in plan.files:
        _write(path, data, mode)
        print(f"wrote {path} (mode {mode:04o})", file=out)
    for argv in plan.commands:
        status, output = run(argv)
        shown = " ".join(argv)
        if status == 0:
            print(f"ran   {shown}", file=out)
            continue
        # bootout of a job that is not loaded, or disable of a unit already gone, is fine.
        tolerated = not strict or argv[1] in ("bootout", "disable")
        print(f"{'note' if tolerated else 'FAILED'}: {shown} → {status}: {output}", file=out)
        if not tolerated:
            return status
    for path in plan.remove:
        if path.exists():
            path.unlink()
            print(f"removed {path}", file=out)
    return 0


def have_tool(platform: str) -> bool:
    return shutil.which("launchctl" if platform == "launchd" else "systemctl") is not None
