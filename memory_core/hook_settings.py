"""The prompt hook's two settings, read the same way wherever the hook runs: in the plugin's
MCP shim (its `mcp_tool` prompt hook, mcp_shim/prompt_hook.py) and in the stdlib hook script
(hooks/_memory_hook.py, the command hook of `memory hooks install`, which cannot import this
package and keeps a copy that tests/hooks/test_hook_settings.py holds to this one).

An unset or empty variable means the default; a value that is not a number too (a hook never
fails over its settings); a number out of range is brought into it.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_BUDGET = 8192  # characters a hook injects per prompt
MIN_BUDGET = 512
MAX_BUDGET = 9500  # Claude Code replaces hook output over 10,000 characters with a file path
DEFAULT_TIMEOUT = 0.5  # seconds the prompt hook waits for the daemon, then injects nothing
MIN_TIMEOUT = 0.1
MAX_TIMEOUT = 4.5  # under the 5 s hooks.json gives a hook


def hook_budget(environ: Mapping[str, str]) -> int:
    """MEMORY_HOOK_BUDGET: the most characters the hook injects (the daemon's `?budget=`)."""
    raw = environ.get("MEMORY_HOOK_BUDGET")
    try:
        return max(MIN_BUDGET, min(MAX_BUDGET, int(raw))) if raw else DEFAULT_BUDGET
    except ValueError:
        return DEFAULT_BUDGET


def hook_timeout(environ: Mapping[str, str]) -> float:
    """MEMORY_HOOK_TIMEOUT: seconds to wait for the daemon's answer before giving up."""
    raw = environ.get("MEMORY_HOOK_TIMEOUT")
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT
    if value != value:  # NaN
        return DEFAULT_TIMEOUT
    return max(MIN_TIMEOUT, min(MAX_TIMEOUT, value))
