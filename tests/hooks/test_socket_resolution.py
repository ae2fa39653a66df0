"""The hook finds the socket exactly where the daemon puts it (memoryd.config)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from memoryd.config import load_settings
from tests.hooks.helpers import HOOK


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("memory_hook", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "env",
    [
        {"MEMORY_SOCKET": "/tmp/explicit/d.sock", "XDG_RUNTIME_DIR": "/run/user/1"},
        {"MEMORY_SOCKET": "", "XDG_RUNTIME_DIR": "/run/user/7", "MEMORY_HOME": "/tmp/h"},
        {"MEMORY_SOCKET": "", "XDG_RUNTIME_DIR": "", "MEMORY_HOME": "/tmp/home-x"},
        {"MEMORY_SOCKET": "", "XDG_RUNTIME_DIR": "", "MEMORY_HOME": ""},
        {"MEMORY_SOCKET": "~/sock/d.sock", "XDG_RUNTIME_DIR": ""},
    ],
)
def test_same_socket_path_as_the_daemon(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name in ("MEMORY_SOCKET", "XDG_RUNTIME_DIR", "MEMORY_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    hook = load_hook()
    assert Path(hook.socket_path()) == load_settings().socket_path


def test_the_hook_imports_only_the_standard_library() -> None:
    import sys

    source = HOOK.read_text()
    imported = {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.startswith(("import ", "from ")) and not line.startswith("from __future__")
    }
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)
