"""A static query embedding distilled from the model: a recall query's vector without running it.

Running the sentence model on a query costs ~2.5 ms of CPU (~2 of them fixed ONNX overhead),
more than the rest of a semantic recall. Here (model2vec-style) each vocabulary token gets, once,
the model's own vector for that token alone (`[CLS] token [SEP]`, pooled as the model pools:
`build`, ~17 s of one core for the packaged model's 30,522 tokens, in a child process); a
query's vector is then the mean of its tokens' rows weighted by their inverse document frequency
in the store's memories, mapped into the model's space by a linear map fitted without labels on
the store's own memories (their static vector -> the vector the model gave them, ridge
regression: `fit`). That takes ~0.05 ms. Stored memories keep the model's vectors.

Measured on the LoCoMo dev conversations (dense leg alone, after the index's projection): the
model's query R@10 54.2; this one 27 without the map, 61-63 with it. The map is regularised
towards the identity rather than towards zero (a token alone is a text whose static vector is,
up to its length, the model's own); towards zero it lost on small stores (50 memories: 49 against
61). Under MIN_MAP_ROWS memories the index has no projection either; queries run the model
there (cheap to search anyway). The table is kept in the cache directory beside the int8 query
model (float16, ~23 MB for 30,522 x 384; int8 rows in memory, 11.7 MB), named by the model's
digest, with that digest and a checksum of the rows inside: a file that fails either is built
again, never used.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from memoryd.semantic.embedder import (
    MAX_QUERY_TOKENS,
    PROBE,
    Vectors,
    load_tokenizer,
    make_session,
    pool,
    run_model,
)
from memoryd.semantic.index import length
from memoryd.semantic.model import ModelSpec, Pooling, read_checked
from memoryd.semantic.query_tokens import QueryTokens

PREFIX = "query-static-"
MAGIC = b"memoryd static query table 1\n"
_HEADER = len(MAGIC) + 64 + 8 + 8 + 32  # magic, model sha256 (hex), rows, dims, rows' sha256
BATCH = 1024  # tokens run at once while building (3 positions each)
# A vocabulary past this would cost more than the memory budget allows (float16 rows: 250k
# multilingual tokens x 384 = 190 MB); such a model keeps running its queries.
MAX_VOCAB = 60_000
MIN_MAP_ROWS = 100  # as the projection's MIN_FIT (index.py)
FIT_SAMPLE = 4096  # at most this many memories (evenly spaced) fit the map
# Chosen on LoCoMo dev: 1.0 and 2.0 alike (R@10 dense alone 61-63 on 50 to 419 memories), 0.1
# and 0.3 1-4 points lower on 150 memories and under.
RIDGE = 1.0
MIN_IDF = 0.1
# The table must give the probe text a vector this close to the model's (uniform weights, no
# map) before it is used. Measured: 0.40 for the packaged model's table on the probe (LoCoMo dev
# questions: 0.45 mean, 0.34 at the 5th percentile); the same table with its rows shuffled 0.13.
MIN_PROBE_AGREEMENT = 0.3

Table = npt.NDArray[np.float16]


class StaticInvalid(Exception):
    """A cached table that cannot be used (missing, truncated, damaged, of another model)."""


def cached_table(cache_dir: Path, model: ModelSpec) -> Path:
    return cache_dir / f"{PREFIX}{model.sha256[:16]}.bin"


def usable(tokenizer: Tokenizer) -> bool:
    """Whether the model's vocabulary is small enough for a table (MAX_VOCAB)."""
    return tokenizer.get_vocab_size() <= MAX_VOCAB


def build_table(model: ModelSpec) -> Table:
    """Every vocabulary token's vector: the model's output for that token alone. Blocking
    (~17 s of one core for the packaged model); the daemon runs it in a child process."""
    tokenizer = load_tokenizer(model, MAX_QUERY_TOKENS)
    wrapped = tokenizer.encode("").ids  # the special tokens around any text: [CLS], [SEP]
    session = make_session(1, model.read())
    vocab = tokenizer.get_vocab_size()
    table: Table | None = None
    for start in range(0, vocab, BATCH):
        ids = np.arange(start, min(vocab, start + BATCH), dtype=np.int64)[:, None]
        after = [np.full_like(ids, special) for special in wrapped[1:]]
        rows = np.hstack([np.full_like(ids, wrapped[0]), ids, *after])
        mask = np.ones_like(rows)
        pooled = pool(run_model(session, rows, mask), mask, model)
        if table is None:
            table = np.zeros((vocab, pooled.shape[1]), dtype=np.float16)
        table[start : start + len(ids)] = pooled
    assert table is not None
    return table


def write_table(path: Path, model_sha256: str, table: Table) -> None:
    """Atomically, readable by this user only."""
    body = np.ascontiguousarray(table, dtype=np.float16).tobytes()
    header = (
        MAGIC
        + model_sha256.encode()
        + len(table).to_bytes(8, "little")
        + table.shape[1].to_bytes(8, "little")
        + hashlib.sha256(body).digest()
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{PREFIX}")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(header + body)
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
    for stale in path.parent.glob(f"{PREFIX}*.bin"):  # tables of other models
        if stale != path:
            stale.unlink(missing_ok=True)


def read_table(path: Path, model_sha256: str) -> Table:
    """The table in `path`, once its header names `model_sha256` and its rows hash to what
    the header says; StaticInvalid otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StaticInvalid(f"{path}: {exc}") from None
    if len(data) < _HEADER or not data.startswith(MAGIC):
        raise StaticInvalid(f"{path} is not a static query table")
    at = len(MAGIC)
    if data[at : at + 64] != model_sha256.encode():
        raise StaticInvalid(f"{path} was built from another model file")
    rows = int.from_bytes(data[at + 64 : at + 72], "little")
    dims = int.from_bytes(data[at + 72 : at + 80], "little")
    body = memoryview(data)[_HEADER:]
    if len(body) != rows * dims * 2 or hashlib.sha256(body).digest() != data[at + 80 : _HEADER]:
        raise StaticInvalid(f"{path} is truncated or damaged")
    return np.frombuffer(body, dtype=np.float16).reshape(rows, dims)


@dataclass(frozen=True)
class QueryMap:
    """What `fit` learned from one store: each token's weight and the linear map."""

    weights: npt.NDArray[np.float32]  # (vocab,) inverse document frequency in the store
    matrix: Vectors  # (dims, dims): the static vector -> the model's
    rows: int  # the size of the index it was fitted for (refitted as the projection is)


class StaticQueries:
    """The table and the store's map; `embed` is a few gathers and one small product."""

    def __init__(self, table: Table, tokenizer: Tokenizer) -> None:
        """`tokenizer`: the model's, cut at MAX_QUERY_TOKENS (padding is dropped with the special
        tokens). The rows are kept as int8 with a scale each: half the memory of the float16
        file (11.7 MB for the packaged model); a query's vector moves by a cosine of ~1e-5."""
        rows = table.astype(np.float32)
        scales = np.abs(rows).max(axis=1) / 127
        self._scales = np.where(scales > 0, scales, 1).astype(np.float32)
        self._codes = np.round(rows / self._scales[:, None]).astype(np.int8)
        self._tokenizer = tokenizer
        self._tokens = QueryTokens(tokenizer)
        special = set(tokenizer.encode("").ids) | {tokenizer.token_to_id("[PAD]") or 0}
        self._special = np.zeros(len(table), dtype=bool)  # ids dropped from a text's tokens
        self._special[[i for i in special if i < len(table)]] = True
        self.vocab = len(table)
        self.map: QueryMap | None = None  # swapped in whole by `fit`; None: not usable yet

    def _ids(self, texts: list[str]) -> list[npt.NDArray[np.int64]]:
        listed = (
            [self._tokens.ids(texts[0])]  # one query: its known words looked up (query_tokens)
            if len(texts) == 1
            else [encoding.ids for encoding in self._tokenizer.encode_batch(texts)]
        )
        out = []
        for held in listed:
            ids = np.array(held, dtype=np.int64)
            out.append(ids[~self._special[ids]])
        return out

    def _mean(self, ids: npt.NDArray[np.int64], weights: npt.NDArray[np.float32]) -> Vectors:
        vector: Vectors = (weights[ids] * self._scales[ids]) @ self._codes[ids].astype(np.float32)
        return vector / max(length(vector), 1e-12)

    def agreement(self, probe: Vectors) -> float:
        """The cosine of the table's vector for PROBE (uniform weights, no map) with the
        model's (`probe`): how `check` tells a usable table."""
        uniform = np.ones(self.vocab, dtype=np.float32)
        return float(self._mean(self._ids([PROBE])[0], uniform) @ probe)

    def fit(self, texts: list[str], vectors: Vectors, rows: int) -> QueryMap | None:
        """The map for a store whose memories include `texts` with their model `vectors` (a
        sample of its `rows`). Blocking (~0.2 s for 4,096 memories). None under MIN_MAP_ROWS."""
        if rows < MIN_MAP_ROWS or len(texts) < min(MIN_MAP_ROWS, rows):
            return None
        ids = self._ids(texts)
        documents = np.zeros(self.vocab, dtype=np.float32)
        for held in ids:
            documents[np.unique(held)] += 1
        idf = np.log((len(texts) + 1) / (documents + 0.5)).astype(np.float32)
        weights = np.maximum(idf, np.float32(MIN_IDF))
        static = np.stack([self._mean(held, weights) for held in ids]).astype(np.float64)
        # min |static W - vectors|^2 + RIDGE |W - I|^2
        prior = RIDGE * np.eye(static.shape[1])
        target = static.T @ vectors.astype(np.float64) + prior
        matrix = np.linalg.solve(static.T @ static + prior, target).astype(np.float32)
        return QueryMap(weights, matrix, rows)

    def embed(self, text: str) -> Vectors | None:
        """The query's vector (unit length), or None until a map is fitted or for a text with
        no token in the table (the model answers those)."""
        fitted = self.map
        if fitted is None:
            return None
        ids = self._ids([text])[0]
        if not len(ids):
            return None
        vector: Vectors = self._mean(ids, fitted.weights) @ fitted.matrix
        norm = length(vector)
        return vector / norm if norm > 1e-6 else None


def build_args(model: ModelSpec) -> tuple[str, ...]:
    """The child process's arguments after the target (`build`)."""
    return (str(model.onnx), model.sha256, str(model.tokenizer), model.pooling)


def build(target: Path, source: Path, sha256: str, tokenizer: Path, pooling: Pooling) -> None:
    """The child process's work: the table of the model file `source` (which must hash to
    `sha256`), written to `target`."""
    read_checked(source, sha256)  # ModelUnavailable: the child's last line says why
    model = ModelSpec(
        model_id="",
        onnx=source,
        sha256=sha256,
        tokenizer=tokenizer,
        max_tokens=MAX_QUERY_TOKENS,
        pooling=pooling,
        label=str(source),
    )
    write_table(target, sha256, build_table(model))


if __name__ == "__main__":
    pooling: Pooling = "cls" if sys.argv[5] == "cls" else "mean"
    build(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), pooling)
