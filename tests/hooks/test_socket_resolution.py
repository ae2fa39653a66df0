"""The hook finds the socket exactly where the daemon puts it (memory_core.config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_core.config import load_settings
from tests.hooks.helpers import HOOK, HOOK_MODULE, load_hook


@pytest.mark.parametrize(
    "env",
    [
        {"MEMORY_SOCKET": "/tmp/explicit/d.sock", "XDG_RUNTIME_DIR": "/run/user/1"},
        {"MEMORY_SOCKET": "", "XDG_RUNTIME_DIR": "/run/user/7", "MEMORY_HOME": "/tmp/h"},
        {"MEMORY_SOCKET": "", "XDG_RUNTIME_DIR": "", "MEMORY_HOME": "/tmp/home-x"},
        {"MEMORY_SOCKET": "", "XDG_RUNTIME_DIR": "", "MEMORY_HOME": ""},
        {"MEMORY_SOCKET": "~/sock/d.sock", "XDG_RUNTIME_DIR": ""},
        {"MEMORY_SOCKET": "", "XDG_RUNTIME_DIR": "/run/user/9/"},
        {"MEMORY_SOCKET": "", "XDG_RUNTIME_DIR": "", "HOME": "/home/h/"},
        # No HOME: the hook hands `~` to os.path.expanduser (the password database).
        {"MEMORY_SOCKET": "~/sock/d.sock", "XDG_RUNTIME_DIR": "", "HOME": None},
        {"MEMORY_SOCKET": "", "XDG_RUNTIME_DIR": "", "MEMORY_HOME": "", "HOME": None},
    ],
)
def test_same_socket_path_as_the_daemon(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str | None]
) -> None:
    for name in ("MEMORY_SOCKET", "XDG_RUNTIME_DIR", "MEMORY_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    hook = load_hook()
    assert Path(hook.socket_path()) == load_settings().socket_path


def test_the_hook_imports_only_the_standard_library() -> None:
    import sys

    for path in (HOOK, HOOK_MODULE):
        imported = {
            line.strip().split()[1].split(".")[0]
            for line in path.read_text().splitlines()
            if line.strip().startswith(("import ", "from "))
        }
        stdlib = set(sys.stdlib_module_names)
        assert imported and imported <= stdlib, (path.name, imported - stdlib)


def test_the_entry_point_runs_the_module_from_cached_bytecode(tmp_path: Path) -> None:
    """A script is compiled on every run; the module it imports is compiled once."""
    import shutil
    import subprocess
    import sys

    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for path in (HOOK, HOOK_MODULE):
        shutil.copy(path, hooks / path.name)
    env = {"MEMORY_SOCKET": str(tmp_path / "none.sock"), "PYTHONDONTWRITEBYTECODE": "1"}
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-S", str(hooks / HOOK.name), "prompt"],
            input=b'{"session_id": "s", "prompt": "where do the logs go?"}',
            capture_output=True,
            env=env,
            timeout=10,
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    cached = [p.name for p in (hooks / "__pycache__").iterdir()]
    assert cached == [f"_memory_hook.{sys.implementation.cache_tag}.pyc"]
