"""The service subcommands of `memoryd`: install-service, uninstall-service, status."""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from typing import Any

from memory_core.config import load_settings
from memory_core.errors import ConfigError
from memory_core.handover import daemon_is_older
from memory_core.unix_http import probe_health
from memory_core.version import PROTOCOL, __version__
from memoryd.service.install import (
    execute,
    have_tool,
    install_plan,
    platform_name,
    print_plan,
    run_command,
    stop_unmanaged_daemon,
    systemd_dir,
    uninstall_plan,
)
from memoryd.service.units import LAUNCHD_LABEL, UNIT_NAME, spec_from_environment


def _platform(args: argparse.Namespace) -> str:
    return str(args.platform or platform_name())


def cmd_install(args: argparse.Namespace) -> int:
    platform = _platform(args)
    spec = spec_from_environment(idle_exit=args.idle_exit)
    plan = install_plan(spec, platform, systemd_dir() if platform == "systemd" else None)
    if args.dry_run:
        print_plan(plan, sys.stdout)
        return 0
    if not have_tool(platform):
        tool = "launchctl" if platform == "launchd" else "systemctl"
        print(
            f"memoryd: {tool} not found, so there is no {platform} to install into. Run "
            "`memoryd serve` yourself (or let sessions start it), or see `--dry-run`.",
            file=sys.stderr,
        )
        return 1
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"memoryd: {exc.message}", file=sys.stderr)
        return 2
    health = probe_health(settings.socket_path, timeout=5.0)
    if health is not None:
        stop_unmanaged_daemon(int(health.get("pid", 0)) or None, sys.stdout)
    status = execute(plan, sys.stdout, run_command)
    if status == 0:
        print(f"memoryd {__version__} is installed as a {platform} service.")
        if platform == "systemd":
            print(
                "Logs: journalctl --user -u memoryd. To run without a login session: "
                "loginctl enable-linger $USER"
            )
    return status


def cmd_uninstall(args: argparse.Namespace) -> int:
    platform = _platform(args)
    spec = spec_from_environment()
    plan = uninstall_plan(spec, platform, systemd_dir() if platform == "systemd" else None)
    if args.dry_run:
        print_plan(plan, sys.stdout)
        return 0
    status = execute(plan, sys.stdout, run_command, strict=False)
    print("memoryd service removed (your memories, key and logs are kept).")
    return status


def service_state(platform: str) -> dict[str, str]:
    if not have_tool(platform):
        return {"manager": f"{platform} not available"}
    if platform == "launchd":
        code, _ = run_command(["launchctl", "print", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"])
        return {"launchd": "loaded" if code == 0 else "not loaded"}
    state = {}
    for unit in (f"{UNIT_NAME}.socket", f"{UNIT_NAME}.service"):
        _, enabled = run_command(["systemctl", "--user", "is-enabled", unit])
        _, active = run_command(["systemctl", "--user", "is-active", unit])
        if "Failed to connect to bus" in enabled + active:
            return {"manager": "no systemd user manager reachable (no user session here)"}
        state[unit] = f"{active.splitlines()[-1] if active else '?'} ({enabled or 'not installed'})"
    return state


def cmd_status(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"memoryd: {exc.message}", file=sys.stderr)
        return 2
    path = settings.socket_path
    report: dict[str, Any] = {"service": service_state(_platform(args)), "socket": str(path)}
    if path.exists():
        info = path.lstat()
        kind = "socket" if stat.S_ISSOCK(info.st_mode) else "NOT A SOCKET"
        report["socket_state"] = f"{kind}, mode {stat.S_IMODE(info.st_mode):04o}"
    else:
        report["socket_state"] = "absent"
    health = probe_health(path, timeout=3.0)
    report["daemon"] = health
    healthy = health is not None
    if health is not None:
        report["daemon_older_than_installed"] = daemon_is_older(health, __version__, PROTOCOL)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name, value in report["service"].items():
            print(f"service  {name}: {value}")
        print(f"socket   {path}: {report['socket_state']}")
        if health is None:
            print("daemon   not answering (`memory doctor` says why)")
        else:
            note = (
                " — older than installed; it hands over on next start"
                if report["daemon_older_than_installed"]
                else ""
            )
            print(
                f"daemon   memoryd {health.get('version')} (protocol {health.get('protocol')}), "
                f"pid {health.get('pid')}, {health.get('memories')} memories{note}"
            )
    return 0 if healthy else 3


def add_commands(commands: Any) -> None:
    """Register the subcommands on `memoryd`'s subparsers."""
    for name, func, text in (
        ("install-service", cmd_install, "install, enable and start the user service"),
        ("uninstall-service", cmd_uninstall, "stop and remove the user service (keeps data)"),
    ):
        p = commands.add_parser(name, help=text)
        p.add_argument("--dry-run", action="store_true", help="print the files and commands only")
        p.add_argument("--platform", choices=["systemd", "launchd"], help="default: this OS's")
        if name == "install-service":
            p.add_argument(
                "--idle-exit",
                type=float,
                metavar="SECONDS",
                help="exit after this long without connections (systemd socket activation "
                "starts it again on the next one)",
            )
        p.set_defaults(func=func)
    p = commands.add_parser("status", help="is the service, the socket and the daemon healthy")
    p.add_argument("--json", action="store_true")
    p.add_argument("--platform", choices=["systemd", "launchd"], help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_status)
