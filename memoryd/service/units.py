"""The service files, generated for this machine: systemd user units and a launchd agent.

This module is the one definition of their contents; `systemd/` and `launchd/` in the
repository hold copies rendered for a typical installation (`python -m memoryd.service.units
--examples` rewrites them, and a test checks they are current).

Paths are absolute (launchd expands nothing, and systemd needs an absolute ExecStart), the
interpreter is the one running memoryd now (a venv's `bin/python`, not resolved through its
symlink, so the venv's packages are used). Secrets (MEMORY_ENCRYPTION_KEY, the hub API key) are
never written into a unit: systemd reads them from a 0600 environment file, and the launchd
plist that carries them is itself written 0600.

launchd: we use RunAtLoad + KeepAlive{SuccessfulExit=false} with memoryd binding its own socket,
not launchd socket activation. Claiming launchd's socket needs `launch_activate_socket` through
ctypes, a second code path that cannot be exercised off macOS, whereas binding our own socket is
the path every other start (tests, `memoryd serve`, the shim's autostart) already uses, with
the same 0600/0700 checks. KeepAlive only on a failed exit: after a handover or an idle exit
(status 0) the next client starts the daemon itself, and launchd does not fight it.
"""

from __future__ import annotations

import os
import plistlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

UNIT_NAME = "memoryd"
LAUNCHD_LABEL = "dev.memoryd.daemon"
SECRET_VARS = ("MEMORY_ENCRYPTION_KEY", "MEMORY_API_KEY", "CLAUDE_MEMORY_API_KEY")
PLAIN_VARS = (
    "MEMORY_HOME",
    "MEMORY_DB",
    "MEMORY_SOCKET",
    "MEMORY_API_URL",
    "CLAUDE_MEMORY_API_URL",
    "MEMORY_SYNC_INTERVAL",
    "MEMORY_SYNC_DISABLE",
    "MEMORY_MAX_CONTENT_CHARS",
)
EXIT_CONFIG_ERROR = 2  # `memoryd serve` on a bad setting or a corrupt database: do not loop


@dataclass(frozen=True)
class ServiceSpec:
    """Everything the files depend on, gathered once so rendering is a pure function."""

    python: str
    home: Path  # the user's home directory
    memory_home: Path
    socket: str | None  # None: systemd's default, %t/memoryd/memoryd.sock
    env: dict[str, str] = field(default_factory=dict)  # non-secret MEMORY_* settings
    secrets: dict[str, str] = field(default_factory=dict)
    idle_exit: float | None = None

    @property
    def env_file(self) -> Path:
        return self.memory_home / "service.env"


def spec_from_environment(
    environ: Mapping[str, str] | None = None,
    python: str | None = None,
    idle_exit: float | None = None,
) -> ServiceSpec:
    env = dict(os.environ if environ is None else environ)
    home = Path(env.get("HOME") or Path.home())
    memory_home = Path(env.get("MEMORY_HOME") or home / ".claude" / "claude-memory").expanduser()
    plain = {k: env[k] for k in PLAIN_VARS if env.get(k)}
    if "MEMORY_HOME" in plain:
        plain["MEMORY_HOME"] = str(memory_home)
    return ServiceSpec(
        python=os.path.abspath(python or sys.executable),
        home=home,
        memory_home=memory_home,
        socket=plain.get("MEMORY_SOCKET"),
        env=plain,
        secrets={k: env[k] for k in SECRET_VARS if env.get(k)},
        idle_exit=idle_exit,
    )


def _percent(value: str) -> str:
    return value.replace("%", "%%")


def _systemd_escape(value: str) -> str:
    """One ExecStart/Environment word: % doubled, quoted when it holds spaces or quotes."""
    value = value.replace("%", "%%")
    if any(c in value for c in ' \t"\\'):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def serve_args(spec: ServiceSpec) -> list[str]:
    args = [spec.python, "-m", "memoryd", "serve"]
    if spec.idle_exit is not None:
        args += ["--idle-exit", f"{spec.idle_exit:g}"]
    return args


def systemd_socket_unit(spec: ServiceSpec) -> str:
    # Path settings take the rest of the line as is: only specifiers need escaping.
    listen = _percent(spec.socket) if spec.socket else f"%t/{UNIT_NAME}/{UNIT_NAME}.sock"
    return f"""\
[Unit]
Description=memoryd socket (persistent memory for Claude Code)
Documentation=man:systemd.socket(5)

[Socket]
ListenStream={listen}
SocketMode=0600
DirectoryMode=0700
RemoveOnStop=yes

[Install]
WantedBy=sockets.target
"""


def systemd_service_unit(spec: ServiceSpec) -> str:
    exec_start = " ".join(_systemd_escape(a) for a in serve_args(spec))
    env_lines = "".join(
        f"Environment={_systemd_escape(f'{k}={v}')}\n" for k, v in sorted(spec.env.items())
    )
    return f"""\
[Unit]
Description=memoryd (persistent memory for Claude Code)
Documentation=man:systemd.service(5)
Requires={UNIT_NAME}.socket
After={UNIT_NAME}.socket

[Service]
Type=notify
NotifyAccess=main
ExecStart={exec_start}
Environment=PYTHONUNBUFFERED=1
{env_lines}EnvironmentFile=-{_percent(str(spec.env_file))}
UMask=0077
Restart=on-failure
RestartSec=2
RestartPreventExitStatus={EXIT_CONFIG_ERROR}
TimeoutStartSec=30
TimeoutStopSec=30
StandardOutput=journal
StandardError=journal
SyslogIdentifier=memoryd

[Install]
WantedBy=default.target
"""


def env_file_text(spec: ServiceSpec) -> str:
    lines = ["# Secrets for memoryd.service (read by systemd; keep this file 0600)."]
    for name, value in sorted(spec.secrets.items()):
        quoted = value.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'{name}="{quoted}"')
    return "\n".join(lines) + "\n"


def launchd_plist(spec: ServiceSpec) -> dict[str, Any]:
    log = str(spec.home / "Library" / "Logs" / "memoryd" / "memoryd.log")
    return {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": serve_args(spec),
        "EnvironmentVariables": {"PYTHONUNBUFFERED": "1", **spec.env, **spec.secrets},
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 5,
        "ExitTimeOut": 30,
        "ProcessType": "Background",
        "Umask": 0o077,
        "WorkingDirectory": str(spec.memory_home),
        "StandardOutPath": log,
        "StandardErrorPath": log,
    }


def launchd_plist_bytes(spec: ServiceSpec) -> bytes:
    return plistlib.dumps(launchd_plist(spec), sort_keys=True)


# Rendered copies in the repository, for a venv at ~/.local/share/memoryd/venv of user "you".
EXAMPLE_SPEC = ServiceSpec(
    python="/home/you/.local/share/memoryd/venv/bin/python",
    home=Path("/home/you"),
    memory_home=Path("/home/you/.claude/claude-memory"),
    socket=None,
)
EXAMPLE_MAC_SPEC = ServiceSpec(
    python="/Users/you/.local/share/memoryd/venv/bin/python",
    home=Path("/Users/you"),
    memory_home=Path("/Users/you/.claude/claude-memory"),
    socket=None,
)


def example_files() -> dict[str, bytes]:
    return {
        f"systemd/{UNIT_NAME}.socket": systemd_socket_unit(EXAMPLE_SPEC).encode(),
        f"systemd/{UNIT_NAME}.service": systemd_service_unit(EXAMPLE_SPEC).encode(),
        f"launchd/{LAUNCHD_LABEL}.plist": launchd_plist_bytes(EXAMPLE_MAC_SPEC),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["--examples"]:
        print("usage: python -m memoryd.service.units --examples", file=sys.stderr)
        return 2
    root = Path(__file__).resolve().parents[2]
    for name, data in example_files().items():
        (root / name).write_bytes(data)
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
