"""Sentence embeddings with onnxruntime + tokenizers: no PyTorch, no network."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime
from tokenizers import Tokenizer
from tokenizers.implementations.bert_wordpiece import BertWordPieceTokenizer

from memoryd.semantic.model import ModelSpec, ModelUnavailable, packaged

# A query's cost grows with its length (int8 model: 2.8 ms of CPU at 16 words, 9.4 at 64, 38.6
# at 256), and an auto-recall prompt can be a pasted log. Lexical recall reads only the first
# 32 words of a query too (fts.MAX_TERMS); LoCoMo's longest question is 32 tokens. A memory is
# read up to its model's length (ModelSpec.max_tokens: 256 for the packaged model).
MAX_QUERY_TOKENS = 64
BATCH = 32
# A query model (quantize.py) must give the model's own vector, to this cosine, on the probe
# text before it is used; the int8 build of the packaged model gives ~0.99 (measured: LoCoMo
# questions).
MIN_AGREEMENT = 0.97
PROBE = "Remember that the team prefers SvelteKit for new dashboards."

Vectors = npt.NDArray[np.float32]


def load_tokenizer(model: ModelSpec, max_tokens: int) -> Tokenizer:
    if model.tokenizer.suffix == ".txt":  # a WordPiece vocabulary: lowercasing BERT
        bert = BertWordPieceTokenizer(str(model.tokenizer), lowercase=True)
        tok: Tokenizer = bert._tokenizer
    else:
        try:
            tok = Tokenizer.from_file(str(model.tokenizer))
        except Exception as exc:  # the tokenizers library raises its own types
            raise ModelUnavailable(f"{model.tokenizer} is not a usable tokenizer: {exc}") from None
    padding = tok.padding or {}
    pad_id, pad_token = padding.get("pad_id"), padding.get("pad_token")
    if pad_id is None:
        pad_token = next((t for t in ("[PAD]", "<pad>") if tok.token_to_id(t) is not None), "")
        pad_id = tok.token_to_id(pad_token) if pad_token else 0
    # Pad each batch to its longest text only (an exported tokenizer.json may pad to a fixed
    # length), and cut at this model's limit.
    tok.enable_padding(pad_id=pad_id, pad_token=pad_token or "[PAD]")
    tok.enable_truncation(max_tokens)
    return tok


def make_session(threads: int, model: bytes | Path) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Spinning worker threads burn the (shared, 2-core) CPU between calls; without it a
    # query embeds in ~10 ms p50 on a loaded machine instead of ~70 ms (measured).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # The arena keeps the peak of every batch shape for good (~1 GB RSS after 10k texts).
    options.enable_cpu_mem_arena = False
    try:
        return onnxruntime.InferenceSession(
            model if isinstance(model, bytes) else str(model),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
    except Exception as exc:  # onnxruntime raises its own types for a file it cannot run
        raise ModelUnavailable(f"the model could not be loaded: {exc}") from None


def output_name(session: onnxruntime.InferenceSession) -> str:
    """The output to read: the pooled vector if the export names one, else the token states
    (by name, or the first float output of rank 3: some exports list others first)."""
    outputs = session.get_outputs()
    names = {o.name for o in outputs}
    for name in ("sentence_embedding", "last_hidden_state", "token_embeddings"):
        if name in names:
            return name
    states = [o.name for o in outputs if o.type == "tensor(float)" and len(o.shape) == 3]
    return states[0] if states else str(outputs[0].name)


class Embedder:
    """The model's sessions; `embed` and `embed_query` are blocking (run them in a thread)."""

    def __init__(self, threads: int = 2, model: ModelSpec | None = None) -> None:
        # Two sessions: memories (background indexing) run on `threads` threads, nearly twice
        # as fast; a recall query runs on one, which costs less CPU (5.5 against 7.2 ms a
        # query) and leaves the other core to recall's lexical half, which runs meanwhile
        # (measured: semantic recall p95 at 10k 18.4 -> 15.9 ms). The daemon then swaps in the
        # int8 query model (use_for_queries), half that CPU again; memories keep the model
        # itself, whatever their number. The memories' session (~90 MB of float32 weights for
        # the packaged model) is loaded when there is something to embed and may be released
        # in between. Every session is made from the file's bytes once their sha256 is seen
        # to be the expected one (ModelSpec.read).
        self.model = model or packaged()
        self._threads = threads
        self._batches: onnxruntime.InferenceSession | None = None
        self._queries: onnxruntime.InferenceSession | None = None  # loaded by the first query
        self._loading = threading.Lock()  # sessions are loaded lazily, from worker threads
        self._tokenizer = load_tokenizer(self.model, self.model.max_tokens)
        self._query_tokenizer = load_tokenizer(
            self.model, min(MAX_QUERY_TOKENS, self.model.max_tokens)
        )
        self._probe: Vectors | None = None  # the model's vector for PROBE (check)
        self.query_model: Path | None = None  # None: queries run the model itself

    def check(self) -> Vectors:
        """Load the model once (the file's digest checked), embed a probe text and see that
        the vector is usable: raises ModelUnavailable otherwise. The session is not kept.
        Blocking; the result is remembered (it also gives `dimensions`)."""
        if self._probe is None:
            session = make_session(1, self.model.read())
            try:
                vector = self._run(session, [PROBE], self._tokenizer)[0]
            except ModelUnavailable:
                raise
            except Exception as exc:  # wrong inputs or outputs for this runner
                raise ModelUnavailable(f"the model does not run as expected: {exc}") from None
            if vector.ndim != 1 or not vector.size or not np.isfinite(vector).all():
                raise ModelUnavailable("the model gives no usable vector")
            self._probe = vector
        return self._probe

    @property
    def dimensions(self) -> int:
        return self.model.dimensions or int(self.check().shape[0])

    def use_for_queries(self, model: Path) -> None:
        """Embed recall queries with `model` (quantize.py's int8 build of the same network)
        from now on, once it is seen to agree with the model itself on the probe text."""
        session = make_session(1, model)
        agreement = float(self._run(session, [PROBE], self._tokenizer)[0] @ self.check())
        if agreement < MIN_AGREEMENT:
            raise ValueError(f"{model} disagrees with {self.model.label}; not used")
        with self._loading:
            self._queries = session
            self.query_model = model

    def embed(self, texts: list[str]) -> Vectors:
        """Memories' vectors, L2-normalised, one row per text, in order: the model itself, up
        to its max_tokens each. Batches hold texts of similar length so that little time goes
        to padding."""
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
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
                session = self._batches = self._batches or make_session(
                    self._threads, self.model.read()
                )
        return session

    @property
    def query_tokenizer(self) -> Tokenizer:
        """Cuts at MAX_QUERY_TOKENS; pads a batch to its longest text."""
        return self._query_tokenizer

    def embed_query(self, text: str) -> Vectors:
        """A recall query's vector (1-d): the query session, its first MAX_QUERY_TOKENS
        tokens only."""
        session = self._queries
        if session is None:  # no int8 query model (yet): the model itself, on one thread
            with self._loading:  # and not over an int8 session swapped in meanwhile
                session = self._queries = self._queries or make_session(1, self.model.read())
        vector: Vectors = self._run(session, [text], self._query_tokenizer)[0]
        return vector

    def _run(
        self, session: onnxruntime.InferenceSession, texts: list[str], tokenizer: Tokenizer
    ) -> Vectors:
        encodings = tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        pooled = pool(run_model(session, ids, mask), mask, self.model)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Vectors = pooled / np.maximum(norms, 1e-12)
        return result


def run_model(
    session: onnxruntime.InferenceSession,
    ids: npt.NDArray[np.int64],
    mask: npt.NDArray[np.int64],
) -> Any:
    """The session's output (`output_name`) for rows of token ids and their attention mask."""
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    wanted = {i.name for i in session.get_inputs()}
    (states,) = session.run([output_name(session)], {k: v for k, v in feed.items() if k in wanted})
    return states


def pool(states: Any, mask: npt.NDArray[np.int64], model: ModelSpec) -> Vectors:
    """One vector per text (not normalised) from a run's output: as given if the model pools
    itself, else its first token's (CLS pooling) or the mean of its tokens'."""
    states = np.asarray(states, dtype=np.float32)
    if states.ndim == 2:  # already one vector per text
        pooled: Vectors = states
    elif model.pooling == "cls":
        pooled = states[:, 0]
    else:
        weights = mask[:, :, None].astype(np.float32)
        pooled = (states * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
    return pooled
