"""The static query embedding (semantic/static.py, static_keeper.py): its table's file (checked
when read, built again when it fails), its vectors against the model's, and the prompt hook's
recall using it through a real daemon once it is ready."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memoryd.semantic import static
from memoryd.semantic.embedder import PROBE, Embedder
from memoryd.semantic.leg import SemanticLeg
from memoryd.semantic.model import packaged
from memoryd.store.memories import MemoryStore, NewMemory
from tests.support import Daemon, run_module, running_daemon

PARAPHRASED = "I love hiking in the mountains on weekends"
QUERY = "trekking through alpine peaks"  # not one word in common with PARAPHRASED
TEAMS = ["payments", "search", "mobile", "platform", "data", "growth", "billing", "identity"]
FACTS = [
    "deploys its services with helm to the staging cluster every Tuesday",
    "keeps its runbooks in the wiki under operations",
    "prefers PostgreSQL over MySQL for new databases",
    "reviews every pull request within one working day",
    "runs its nightly jobs at two in the morning",
    "uses SvelteKit for new dashboards",
    "writes its command-line tools in Go",
    "pins its Python dependencies with a lock file",
    "holds its retrospective on the last Friday of the month",
    "pages the on-call engineer through the incident channel",
    "stores secrets in the vault, never in the repository",
    "tracks its latency targets on the shared Grafana board",
    "ships the mobile app to the stores every second week",
    "tests against a throwaway database in continuous integration",
    "keeps feature flags in the configuration service",
]
MEMORIES = [f"The {team} team {fact}" for team in TEAMS for fact in FACTS] + [PARAPHRASED]


def test_the_table_file_is_read_back_only_if_whole_and_of_the_same_model(tmp_path: Path) -> None:
    table = np.random.default_rng(3).standard_normal((50, 8)).astype(np.float16)
    path = tmp_path / "cache" / "query-static-0123.bin"
    digest = hashlib.sha256(b"a model").hexdigest()
    stale = tmp_path / "cache" / "query-static-other.bin"
    stale.parent.mkdir()
    stale.write_bytes(b"a table of another model")
    static.write_table(path, digest, table)
    assert np.array_equal(static.read_table(path, digest), table)
    assert path.stat().st_mode & 0o777 == 0o600
    assert not stale.exists()  # tables of other models go

    with pytest.raises(static.StaticInvalid, match="another model"):
        static.read_table(path, hashlib.sha256(b"another model").hexdigest())
    data = path.read_bytes()
    for damaged in (data[:-100], data[:20], data[:-1] + bytes([data[-1] ^ 1]), b"", b"x" * 500):
        path.write_bytes(damaged)
        with pytest.raises(static.StaticInvalid):
            static.read_table(path, digest)
    path.unlink()
    with pytest.raises(static.StaticInvalid):
        static.read_table(path, digest)


async def _fitted(store: MemoryStore, cache: Path) -> SemanticLeg:
    await store.import_many([NewMemory(content=text) for text in MEMORIES])
    leg = SemanticLeg(store.db, Embedder(threads=2))
    await leg.sync_once()
    await leg.query_embeddings(cache)
    return leg


async def test_static_queries_agree_with_the_model_and_find_the_paraphrase(
    store: MemoryStore, cache_home: Path
) -> None:
    leg = await _fitted(store, cache_home / "memoryd")
    assert leg.static.in_use and (await leg.status())["query_embedding"] == "static"
    queries = leg.static.queries
    assert queries is not None and queries.map is not None
    assert queries.map.rows == len(MEMORIES)
    # The table alone, on the probe (measured 0.40; a table of shuffled rows 0.13).
    model_probe = leg.embedder.embed_query(PROBE)
    assert queries.agreement(model_probe) >= static.MIN_PROBE_AGREEMENT
    # Mapped into the model's space: measured 0.57-0.83 on these texts (LoCoMo dev questions,
    # the map fitted on their conversation: 0.68 mean, 0.58 at the 5th percentile).
    agreements = {}
    for text in (QUERY, PROBE, "which team deploys on Tuesdays?", "where are secrets kept"):
        vector = leg.static.embed(text)
        assert vector is not None
        assert abs(float(np.linalg.norm(vector)) - 1) < 1e-5
        agreements[text] = round(float(vector @ leg.embedder.embed_query(text)), 3)
    assert min(agreements.values()) > 0.5, agreements

    # The prompt hook's search (static) finds the paraphrase first, as the model's does.
    by_static = await leg.search(QUERY, 5, static=True)
    by_model = await leg.search(QUERY, 5)
    assert by_static is not None and by_model is not None
    assert by_static.top[0][0] == by_model.top[0][0] == len(MEMORIES)  # the last rowid
    vector = leg.static.embed(QUERY)
    assert vector is not None
    assert by_static.top == leg.index.search(vector, 5).top


async def test_a_damaged_cached_table_is_built_again_and_a_foreign_one_not_used(
    store: MemoryStore, cache_home: Path, tmp_path: Path
) -> None:
    model = packaged()
    good = static.cached_table(cache_home / "memoryd", model).read_bytes()
    cache = tmp_path / "cache"
    cache.mkdir()
    target = static.cached_table(cache, model)
    # Of another model file: refused by its header, so never used, and built again.
    foreign = good.replace(model.sha256.encode(), hashlib.sha256(b"other").hexdigest().encode())
    target.write_bytes(foreign)
    leg = await _fitted(store, cache)
    assert leg.static.in_use
    assert target.read_bytes() == good
    # Truncated (a disk full, a crash mid-copy): built again too, never a crash.
    target.write_bytes(good[: len(good) // 2])
    again = SemanticLeg(store.db, Embedder(threads=2))
    await again.load()
    await again.query_embeddings(cache)
    assert again.static.in_use and target.read_bytes() == good


async def test_a_small_store_queries_the_model(store: MemoryStore, cache_home: Path) -> None:
    few = MEMORIES[: static.MIN_MAP_ROWS - 1]
    await store.import_many([NewMemory(content=text) for text in few])
    leg = SemanticLeg(store.db, Embedder(threads=2))
    await leg.sync_once()
    await leg.query_embeddings(cache_home / "memoryd")
    status = await leg.status()
    assert status["query_embedding"] == "int8" and not leg.static.in_use
    assert status["static_queries"] == f"ready, used from {static.MIN_MAP_ROWS} memories"
    assert leg.static.embed(QUERY) is None


def test_the_prompt_hook_recalls_through_the_static_queries_of_a_real_daemon() -> None:
    with running_daemon(MEMORY_SEMANTIC="1") as daemon:
        client = daemon.client()
        body = [{"content": text} for text in MEMORIES]
        assert client.post("/api/memories/import", json=body).status_code == 200
        status = _until_static(daemon)
        assert status["indexed"] == len(MEMORIES) and status["static_queries"] == "in use"
        event = {"session_id": "static-1", "prompt": f"any tips for {QUERY}?", "cwd": "/"}
        answer = client.post("/api/hooks/prompt", json=event)
        assert answer.status_code == 200 and PARAPHRASED in answer.text
        shown = run_module("memoryd.cli.memory_cmd", "status", env=daemon.env).stdout
        assert "int8 queries, static queries for the prompt hook" in shown


def test_static_queries_can_be_turned_off() -> None:
    with running_daemon(MEMORY_SEMANTIC="1", MEMORY_SEMANTIC_STATIC_QUERY="0") as daemon:
        client = daemon.client()
        body = [{"content": text} for text in MEMORIES]
        assert client.post("/api/memories/import", json=body).status_code == 200
        status = _until(
            daemon, lambda s: s["indexed"] == len(MEMORIES) and s["query_model"] == "int8"
        )
        assert status["query_embedding"] == "int8" and status["static_queries"] == "off"


def _until_static(daemon: Daemon) -> dict[str, Any]:
    return _until(daemon, lambda s: s.get("query_embedding") == "static")


def _until(daemon: Daemon, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The daemon's semantic status once `done` (the table is the session's, built up front:
    tests/conftest.py)."""
    deadline = time.monotonic() + 90
    while not done(status := daemon.client().get("/api/semantic").json()):
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    return dict(status)
