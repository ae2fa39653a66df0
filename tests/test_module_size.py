"""The project's rule (CONTRIBUTING.md): one concern per module, each under ~400 lines. A module
past that has grown a second concern; split it along a real seam (recall.py's SQL went to
recall_sql.py) rather than raising the bound."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "memory_core",
    "memoryd",
    "memory_hub",
    "mcp_shim",
    "memory_viewer",
    "hooks",
    "plugin_env",
)
MAX_LINES = 400


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_is_under_the_bound(package: str) -> None:
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / package).rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}
