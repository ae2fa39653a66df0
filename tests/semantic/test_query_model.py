"""The int8 query model (semantic/quantize.py): built once into the cache by a child process,
checked against the packaged model before use, and never a reason for recall to fail. (The
daemon swapping it in: tests/recall/test_semantic.py.)"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import numpy as np
import pytest

from memoryd.semantic import quantize
from memoryd.semantic.embedder import Embedder
from memoryd.semantic.leg import SemanticLeg
from memoryd.store.memories import MemoryStore, NewMemory

TEXTS = [
    "trekking through alpine peaks",
    "I love hiking in the mountains on weekends",
    "The staging database runs PostgreSQL 16",
    "what framework should the new dashboard use?",
]


async def test_the_query_model_is_built_once_and_embeds_like_the_packaged_one(
    tmp_path: Path,
) -> None:
    stale = tmp_path / f"{quantize.PREFIX}0.9-ort1.0.onnx"
    stale.write_bytes(b"built by older packages")
    model = await quantize.ensure(tmp_path)
    assert not stale.exists()
    assert model == quantize.cached_model(tmp_path) and model.stat().st_size > 10_000_000
    built_at = model.stat().st_mtime_ns
    assert await quantize.ensure(tmp_path) == model
    assert model.stat().st_mtime_ns == built_at  # cached, not built again
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".onnx"] == [model.name]

    embedder = Embedder(threads=2)
    packaged = np.stack([embedder.embed_query(t) for t in TEXTS])
    embedder.use_for_queries(model)
    assert embedder.query_model == model
    quantized = np.stack([embedder.embed_query(t) for t in TEXTS])
    agreement = (packaged * quantized).sum(axis=1)
    assert agreement.min() > 0.97 and not np.allclose(packaged, quantized)
    # Memories, in a batch or one alone, still get the packaged model's vectors.
    assert np.allclose(embedder.embed(TEXTS), packaged, atol=1e-5)
    assert np.allclose(embedder.embed(TEXTS[:1]), packaged[:1], atol=1e-5)
    # The paraphrase still ranks first among the other texts for the quantized query.
    stored = embedder.embed(TEXTS[1:])
    assert int(np.argmax(stored @ quantized[0])) == 0


async def test_an_unusable_cached_model_leaves_queries_on_the_packaged_model(
    tmp_path: Path, store: MemoryStore
) -> None:
    quantize.cached_model(tmp_path).write_bytes(b"not an onnx model")
    await store.import_many([NewMemory(content=t) for t in TEXTS[1:]])
    leg = SemanticLeg(store.db, Embedder(threads=2))
    await leg.sync_once()
    await leg.quantize_queries(tmp_path)
    assert leg.embedder.query_model is None
    assert (await leg.status())["query_model"] == "packaged"
    assert not quantize.cached_model(tmp_path).exists()  # so that the next start rebuilds it
    hits = await leg.search(TEXTS[0], 3)
    assert hits is not None and hits.top[0][0] == 1  # the hiking memory, first rowid


async def test_a_build_that_fails_says_why_and_recall_goes_on(
    tmp_path: Path, store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The child process finds an `onnx` that cannot be imported (as if the extra were half
    # installed): the build fails with the child's last line, and nothing is left cached.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "onnx.py").write_text("raise ImportError('onnx is broken here')\n")
    monkeypatch.setenv("PYTHONPATH", str(shadow))
    with pytest.raises(quantize.QuantizeFailed, match="onnx is broken here"):
        await quantize.ensure(tmp_path / "cache")
    assert not quantize.cached_model(tmp_path / "cache").exists()

    await store.import_many([NewMemory(content=t) for t in TEXTS[1:]])
    leg = SemanticLeg(store.db, Embedder(threads=2))
    await leg.sync_once()
    await leg.quantize_queries(tmp_path / "cache")
    assert (await leg.status())["query_model"] == "packaged"
    hits = await leg.search(TEXTS[0], 3)
    assert hits is not None and hits.top[0][0] == 1


async def test_a_build_cut_short_leaves_no_process_and_the_next_one_cleans_up(
    tmp_path: Path,
) -> None:
    building = asyncio.create_task(quantize.ensure(tmp_path))
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(f"{quantize.SCRATCH}*/*")):  # the child is writing
        assert time.monotonic() < deadline and not building.done()
        await asyncio.sleep(0.01)
    building.cancel()  # as when the daemon stops during its first start-up
    with pytest.raises(asyncio.CancelledError):
        await building
    assert builders() == []
    # A killed child cannot clean up after itself; the next build removes what it left.
    leftover = tmp_path / f"{quantize.SCRATCH}leftover"
    leftover.mkdir(exist_ok=True)
    (leftover / "float.onnx").write_bytes(b"half written")

    model = await quantize.ensure(tmp_path)
    assert model.exists() and not list(tmp_path.glob(f"{quantize.SCRATCH}*"))


def builders() -> list[int]:
    """Live child processes of this one running the quantizer."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            status = (proc / "status").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        parent = next(line for line in status.splitlines() if line.startswith("PPid:"))
        if int(parent.split()[1]) == os.getpid() and b"memoryd.semantic.quantize" in cmdline:
            found.append(int(proc.name))
    return found
