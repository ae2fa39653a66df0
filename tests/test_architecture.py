"""Who may import whom (docs/architecture.md): the three programs share memory_core and never
import each other; memory_core imports none of them; the viewer imports memory_core only and
is served by memoryd and memory_hub; the hooks are stdlib-only.

Every `import` and `from … import` is read from the source (including those inside functions),
so a lazy import cannot slip past the rule.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("memory_core", "memoryd", "memory_hub", "mcp_shim", "memory_viewer")

# What each part may import of the project; anything else of PARTS is a violation.
ALLOWED = {
    "memory_core": {"memory_core"},
    "memoryd": {"memory_core", "memoryd", "memory_viewer"},
    "memory_hub": {"memory_core", "memory_hub", "memory_viewer"},
    "mcp_shim": {"memory_core", "mcp_shim"},
    # The viewer reaches memories through the HTTP API only, never a store: no memoryd, no hub.
    "memory_viewer": {"memory_core", "memory_viewer"},
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def violations(part: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / part).rglob("*.py")):
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top in PARTS and top not in ALLOWED[part]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("part", PARTS)
def test_part_imports_only_what_it_may(part: str) -> None:
    assert violations(part) == []


def test_hooks_are_stdlib_only() -> None:
    bad = []
    for path in sorted((ROOT / "hooks").glob("*.py")):
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            # _memory_hook is the hook's own second module, loaded by memory_hook.py.
            if top not in sys.stdlib_module_names and top not in {"_memory_hook", "hooks"}:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert bad == []


def test_the_rule_sees_a_violation(tmp_path: Path) -> None:
    # The check itself must be able to fail: a lazy import inside a function is found.
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from memoryd.store import db\n    import memory_hub.app\n")
    assert [m for _, m in imported_modules(sample)] == ["memoryd.store", "memory_hub.app"]
