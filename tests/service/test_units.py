"""The generated units: linted by systemd-analyze, the plist round-tripped, install/uninstall
run end to end against a stand-in `systemctl` (systemd is not PID 1 in CI containers)."""

from __future__ import annotations

import dataclasses
import os
import plistlib
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from memoryd.service.install import install_plan
from memoryd.service.units import (
    EXAMPLE_SPEC,
    LAUNCHD_LABEL,
    ServiceSpec,
    example_files,
    launchd_plist,
    launchd_plist_bytes,
    spec_from_environment,
    systemd_service_unit,
    systemd_socket_unit,
)
from tests.support import REPO, Daemon, daemon_env, short_tmpdir


def analyze(tmp: Path, socket_unit: str, service_unit: str) -> str:
    """`systemd-analyze verify --user` on the two units: its whole output (empty when clean)."""
    (tmp / "memoryd.socket").write_text(socket_unit)
    (tmp / "memoryd.service").write_text(service_unit)
    runtime = tmp / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_LOG_COLOR": "0"}
    done = subprocess.run(
        ["systemd-analyze", "verify", "--user", "./memoryd.socket", "./memoryd.service"],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 0, output
    return output


def spec(tmp: Path, **changes: object) -> ServiceSpec:
    base = dataclasses.replace(EXAMPLE_SPEC, python=sys.executable, memory_home=tmp / "mh")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_generated_units_pass_systemd_analyze_without_a_warning(tmp_path: Path) -> None:
    plain = spec(tmp_path)
    assert analyze(tmp_path, systemd_socket_unit(plain), systemd_service_unit(plain)) == ""
    odd = spec(
        tmp_path,
        memory_home=tmp_path / "my memory 100%",
        socket=str(tmp_path / "a dir" / "d.sock"),
        env={"MEMORY_HOME": str(tmp_path / "my memory 100%"), "MEMORY_SYNC_INTERVAL": "30"},
        idle_exit=600.0,
    )
    assert analyze(tmp_path, systemd_socket_unit(odd), systemd_service_unit(odd)) == ""


def test_the_lint_does_catch_a_bad_unit(tmp_path: Path) -> None:
    plain = spec(tmp_path)
    broken = systemd_service_unit(plain).replace("Type=notify", "Type=notify\nBogusKey=1")
    assert "Unknown key" in analyze(tmp_path, systemd_socket_unit(plain), broken)


def test_units_say_what_the_issue_asks() -> None:
    socket_unit = systemd_socket_unit(EXAMPLE_SPEC).splitlines()
    service = systemd_service_unit(EXAMPLE_SPEC).splitlines()
    for line in ("ListenStream=%t/memoryd/memoryd.sock", "SocketMode=0600", "DirectoryMode=0700"):
        assert line in socket_unit
    for line in (
        "Type=notify",
        "Restart=on-failure",
        "StandardOutput=journal",
        f"ExecStart={EXAMPLE_SPEC.python} -m memoryd serve",
    ):
        assert line in service


def test_secrets_never_go_into_a_unit_file(tmp_path: Path) -> None:
    environ = {
        "HOME": str(tmp_path),
        "MEMORY_HOME": str(tmp_path / "mh"),
        "MEMORY_ENCRYPTION_KEY": "correct horse battery staple",
        "MEMORY_API_URL": "https://hub.example",
    }
    s = spec_from_environment(environ, python=sys.executable)
    plan = install_plan(s, "systemd", tmp_path / "units")
    by_name = {path.name: (data.decode(), mode) for path, data, mode in plan.files}
    assert "battery" not in by_name["memoryd.service"][0]
    assert "Environment=MEMORY_API_URL=https://hub.example" in by_name["memoryd.service"][0]
    assert by_name["service.env"] == (
        "# Secrets for memoryd.service (read by systemd; keep this file 0600).\n"
        'MEMORY_ENCRYPTION_KEY="correct horse battery staple"\n',
        0o600,
    )
    [(_, data, mode)] = install_plan(s, "launchd").files
    assert mode == 0o600 and b"battery" in data  # launchd has no env file: the plist is private


def test_plist_round_trips_and_has_the_right_keys(tmp_path: Path) -> None:
    s = spec(tmp_path, home=Path("/Users/you"))
    data = launchd_plist_bytes(s)
    loaded = plistlib.loads(data)
    assert loaded == launchd_plist(s)
    assert plistlib.dumps(loaded, sort_keys=True) == data
    assert loaded["Label"] == LAUNCHD_LABEL
    assert loaded["ProgramArguments"] == [sys.executable, "-m", "memoryd", "serve"]
    assert Path(loaded["ProgramArguments"][0]).is_absolute()
    assert loaded["RunAtLoad"] is True
    assert loaded["KeepAlive"] == {"SuccessfulExit": False}
    assert "Sockets" not in loaded  # memoryd binds its own socket (see memoryd/service/units.py)
    assert loaded["StandardOutPath"] == "/Users/you/Library/Logs/memoryd/memoryd.log"
    assert loaded["StandardErrorPath"] == loaded["StandardOutPath"]
    assert loaded["Umask"] == 0o077


def test_checked_in_examples_are_current() -> None:
    for name, data in example_files().items():
        assert (REPO / name).read_bytes() == data, "regenerate: python -m memoryd.service.units"


def fake_tools(tmp: Path) -> tuple[dict[str, str], Path]:
    """An environment whose `systemctl` only records its arguments."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    calls = tmp / "calls.log"
    tool = bin_dir / "systemctl"
    tool.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    tool.chmod(0o755)
    home = tmp / "home"
    env = daemon_env(tmp / "mh")
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        PATH=f"{bin_dir}:{os.environ['PATH']}",
        MEMORY_ENCRYPTION_KEY="correct horse battery staple",
    )
    return env, calls


def memoryd(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memoryd", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_install_and_uninstall_with_a_stand_in_systemctl() -> None:
    tmp = short_tmpdir()
    env, calls = fake_tools(tmp)
    (tmp / "mh").mkdir()
    running = Daemon(tmp / "mh", env).start()  # a memoryd started outside systemd
    try:
        done = memoryd(env, "install-service", "--platform", "systemd")
        assert done.returncode == 0, done.stderr
        assert running.proc is not None and running.proc.wait(30) == 0  # made way for the unit
    finally:
        running.stop()
    assert "stopping the memoryd already running" in done.stdout
    units = Path(env["XDG_CONFIG_HOME"]) / "systemd" / "user"
    service = (units / "memoryd.service").read_text().splitlines()
    assert f"ExecStart={sys.executable} -m memoryd serve" in service
    assert f"Environment=MEMORY_SOCKET={env['MEMORY_SOCKET']}" in service
    assert f"ListenStream={env['MEMORY_SOCKET']}" in (units / "memoryd.socket").read_text()
    env_file = tmp / "mh" / "service.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert calls.read_text().splitlines() == [
        "--user daemon-reload",
        "--user enable --now memoryd.socket",
        "--user enable --now memoryd.service",
    ]

    dry = memoryd(env, "uninstall-service", "--platform", "systemd", "--dry-run")
    assert dry.returncode == 0 and (units / "memoryd.service").exists()
    assert "$ systemctl --user disable --now memoryd.service" in dry.stdout

    done = memoryd(env, "uninstall-service", "--platform", "systemd")
    assert done.returncode == 0, done.stderr
    assert not (units / "memoryd.service").exists() and not (units / "memoryd.socket").exists()
    assert not env_file.exists()
    assert calls.read_text().splitlines()[3:] == [
        "--user disable --now memoryd.service",
        "--user disable --now memoryd.socket",
        "--user daemon-reload",
    ]


@pytest.mark.parametrize("platform", ["systemd", "launchd"])
def test_dry_run_prints_the_files_and_touches_nothing(platform: str) -> None:
    tmp = short_tmpdir()
    env, calls = fake_tools(tmp)
    done = memoryd(env, "install-service", "--dry-run", "--platform", platform)
    assert done.returncode == 0, done.stderr
    if platform == "systemd":
        assert "SocketMode=0600" in done.stdout and "Type=notify" in done.stdout
        assert "$ systemctl --user enable --now memoryd.socket" in done.stdout
    else:
        assert "<key>RunAtLoad</key>" in done.stdout
        assert f"$ launchctl bootstrap gui/{os.getuid()} " in done.stdout
    assert not Path(env["HOME"]).exists() and not calls.exists()


@pytest.mark.slow
def test_status_reports_daemon_health() -> None:
    tmp = short_tmpdir()
    env, _ = fake_tools(tmp)
    down = memoryd(env, "status", "--json")
    assert down.returncode == 3 and '"daemon": null' in down.stdout
    (tmp / "mh").mkdir()
    with_daemon = Daemon(tmp / "mh", env).start()
    try:
        up = memoryd(env, "status")
    finally:
        with_daemon.stop()
    assert up.returncode == 0, up.stdout + up.stderr
    assert "daemon   memoryd 0.1.0 (protocol 1)" in up.stdout
    assert f"{env['MEMORY_SOCKET']}: socket, mode 0600" in up.stdout
