"""MEMORY_HOOK_BUDGET and MEMORY_HOOK_TIMEOUT are read the same way by the command hook
(hooks/_memory_hook.py, stdlib-only, so a copy) and by the plugin's prompt hook in the MCP
shim (memory_core.hook_settings)."""

from __future__ import annotations

import pytest

from memory_core import hook_settings
from memoryd.sessions.inject import clamp_budget
from tests.hooks.helpers import load_hook

VALUES = ["", "0", "1", "511", "512", "600", "8192", "9500", "9501", "99999999999", "-3"]
VALUES += [" 700 ", "1e3", "abc", "nan", "NaN", "inf", "-inf", "0.05", "0.3", "2.5", "4.5", "9"]


@pytest.mark.parametrize("raw", VALUES)
def test_the_command_hook_reads_the_settings_as_the_shim_does(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = load_hook()
    environ = {"MEMORY_HOOK_BUDGET": raw, "MEMORY_HOOK_TIMEOUT": raw}
    # The hook reads the process's environment as bytes, empty counting as unset.
    monkeypatch.setattr(hook, "_env", lambda name: environ.get(name) or None)
    assert hook.budget() == hook_settings.hook_budget(environ)
    assert hook.timeout() == hook_settings.hook_timeout(environ)
    assert hook.DEFAULT_BUDGET == hook_settings.DEFAULT_BUDGET
    assert (hook.TIMEOUT, hook.MAX_TIMEOUT) == (
        hook_settings.DEFAULT_TIMEOUT,
        hook_settings.MAX_TIMEOUT,
    )


@pytest.mark.parametrize("value", [-3, 0, 1, 300, 511, 512, 600, 8192, 9500, 9501, 10**9])
def test_the_daemon_clamps_a_budget_as_the_hooks_do(value: int) -> None:
    # One rule: a `?budget=` the hooks would never send (a direct API call) gets the range
    # a hook's MEMORY_HOOK_BUDGET gets (the daemon once allowed 256-511).
    assert clamp_budget(value) == hook_settings.hook_budget({"MEMORY_HOOK_BUDGET": str(value)})
