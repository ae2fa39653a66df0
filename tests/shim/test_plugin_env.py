"""scripts/plugin_python.py: the paths that need no install, and an install cut short (the
install of memoryd itself is exercised through Claude Code in test_claude_cli.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support import REPO, short_tmpdir

SCRIPT = REPO / "scripts" / "plugin_python.py"


def plugin_env(**env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_", "MEMORYD_"))}
    return {**base, **env}


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=plugin_env(**env),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_hooks_never_wait_for_an_install() -> None:
    data = short_tmpdir("pd")
    started = time.monotonic()
    done = run("--if-ready", "-c", "print('ran')", CLAUDE_PLUGIN_DATA=str(data))
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert time.monotonic() - started < 2
    assert list(data.iterdir()) == []


def test_override_interpreter_runs_the_module_with_arguments() -> None:
    done = run(
        "-c",
        "import sys, mcp_shim; print(sys.argv[1:])",
        "a b",
        "c",
        MEMORYD_PLUGIN_PYTHON=sys.executable,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['a b', 'c']\n"
    shown = run("--print", MEMORYD_PLUGIN_PYTHON=sys.executable)
    assert shown.stdout == sys.executable + "\n"


def test_broken_plugin_root_says_so_on_stderr_only() -> None:
    root = short_tmpdir("pr")
    done = run("-m", "mcp_shim", CLAUDE_PLUGIN_ROOT=str(root), CLAUDE_PLUGIN_DATA=str(root / "d"))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("memoryd plugin: cannot read")
    assert str(Path(root) / ".claude-plugin" / "plugin.json") in done.stderr


# A plugin whose "project" builds with an in-tree PEP 517 backend (nothing to download): its
# wheel waits for a gate file, so that the test can kill the bootstrap mid-install.
BACKEND = """
import base64, hashlib, os, pathlib, time, zipfile

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    pathlib.Path(os.environ["FAKE_BUILDING"]).touch()
    while not pathlib.Path(os.environ["FAKE_GATE"]).exists():
        time.sleep(0.02)
    files = {
        "fakeplug.py": b"READY = 'installed'\\n",
        "fakeplug-0.1.dist-info/METADATA": (
            b"Metadata-Version: 2.1\\nName: fakeplug\\nVersion: 0.1\\n"
        ),
        "fakeplug-0.1.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
        ),
    }
    def digest(data):
        raw = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        return "sha256=" + raw.decode()
    record = "".join(f"{n},{digest(d)},{len(d)}\\n" for n, d in files.items())
    record += "fakeplug-0.1.dist-info/RECORD,,\\n"
    name = "fakeplug-0.1-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
        wheel.writestr("fakeplug-0.1.dist-info/RECORD", record)
    return name
"""


def test_an_install_whose_server_is_killed_still_completes() -> None:
    root, data = short_tmpdir("pr"), short_tmpdir("pd")
    (root / ".claude-plugin").mkdir()
    (root / ".claude-plugin" / "plugin.json").write_text('{"name": "fake", "version": "9.9.9"}')
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "fakeplug"\nversion = "0.1"\n'
    )
    (root / "backend.py").write_text(BACKEND)
    building, gate = data.parent / f"{data.name}-building", data.parent / f"{data.name}-gate"
    plugin = {"CLAUDE_PLUGIN_ROOT": str(root), "CLAUDE_PLUGIN_DATA": str(data)}
    env = plugin_env(**plugin, PIP_NO_INDEX="1", FAKE_BUILDING=str(building), FAKE_GATE=str(gate))
    server = subprocess.Popen(
        [sys.executable, str(SCRIPT), "-c", "print('server')"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not building.exists():  # the venv is made, pip is building the project
        assert server.poll() is None, server.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    server.kill()  # Claude Code gives up on the server (MCP startup timeout)
    server.communicate()

    gate.touch()
    stamp = data / "venv-9.9.9" / ".memoryd-plugin-version"
    while not stamp.exists():  # the detached install carries on alone
        assert time.monotonic() < deadline, (data / "install.log").read_text()
        time.sleep(0.02)
    started = time.monotonic()
    done = run(
        "-c",
        "import fakeplug; print(fakeplug.READY)",
        **plugin,
    )
    assert done.returncode == 0 and done.stdout == "installed\n", done.stderr
    assert time.monotonic() - started < 5  # the next session does not install again
    assert (data / "install.log").read_text().count("--- installing") == 1
