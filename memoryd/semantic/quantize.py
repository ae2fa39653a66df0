"""The query model: the packaged model with int8 arithmetic, built once and cached.

The packaged model stores its weights as int8 but turns them back into float32 when loaded, so
every product runs in float32 and reads 4 bytes a weight. For a short text (a recall query, ~15
tokens) that traffic is most of the cost. onnxruntime's dynamic quantization gives the same
network with int8 weights (one scale per output channel) and activations quantized on the fly:
a query embeds in about half the CPU (2.6 against 5.2 ms here). Its vectors stay within cosine
~0.99 of the packaged model's, so the stored vectors, which the packaged model computes in the
background, need not change (measured on LoCoMo dev: R@10 74.7 -> 74.2, within noise).

The build takes ~2 s and ~300 MB, so it runs once, in a child process (`python -m
memoryd.semantic.quantize TARGET SOURCE SHA256`), which checks the source file's digest before
it reads it, and the result is kept in the cache directory under a name that changes with the
model file's digest and the onnxruntime version. A user's own model (MEMORY_EMBED_MODEL) gets
the same treatment; if its build fails or disagrees with it, queries run the model itself.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from memoryd.semantic.builds import BuildFailed, ensure_built
from memoryd.semantic.model import ModelSpec, packaged, read_checked

PREFIX = "query-int8-"
SCRATCH = "build-"


# The child process could not build the query model (its stderr's last line is the message).
QuantizeFailed = BuildFailed


def cached_model(cache_dir: Path, model: ModelSpec | None = None) -> Path:
    """Where the query model for `model` (the packaged one by default) and the installed
    onnxruntime lives (built or not)."""
    digest = (model or packaged()).sha256[:16]
    return cache_dir / f"{PREFIX}{digest}-ort{metadata.version('onnxruntime')}.onnx"


def build(target: Path, source: Path, sha256: str) -> None:
    """Write the query model of `source` (which must hash to `sha256`) to `target`
    (atomically). Imports onnx; run in a child process."""
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    checked = read_checked(source, sha256)  # ModelUnavailable: the child's last line says why
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
            checked,
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        built = Path(scratch) / "query.onnx"
        quantize_dynamic(
            Path(scratch) / "float.onnx", built, weight_type=QuantType.QInt8, per_channel=True
        )
        os.replace(built, target)
    # Built for other models or versions (and under the name used before the model's digest
    # named the file: minilm-l6-query-int8-*).
    for stale in target.parent.glob(f"*{PREFIX}*.onnx"):
        if stale != target:
            stale.unlink(missing_ok=True)


async def ensure(cache_dir: Path, model: ModelSpec | None = None) -> Path:
    """The query model's path for `model` (the packaged one by default), building it first in
    a child process if it is not cached (builds.py)."""
    model = model or packaged()
    target = cached_model(cache_dir, model)
    return await ensure_built(target, "memoryd.semantic.quantize", str(model.onnx), model.sha256)


if __name__ == "__main__":
    build(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
