"""The semantic leg's approximate index through a real daemon, its threshold lowered
(MEMORY_SEMANTIC_APPROX_MIN=100): past it the daemon builds the index file in the background
and recall keeps finding paraphrases; a new memory is found at once, a deleted one never
comes back, a sensitive one is never embedded, and a damaged file is rebuilt after a restart
rather than failing."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from memory_core.config import load_settings
from memory_core.errors import ConfigError
from memoryd.semantic.keeper import sidecar_path
from tests.recall.test_semantic import (
    DISTRACTORS,
    PARAPHRASED,
    QUERY,
    embedded,
    recall,
    wait_embedded,
)
from tests.support import Daemon, daemon_env, short_tmpdir, store

THRESHOLD = 100
SUBJECTS = ["the billing API", "the search cluster", "the mobile app", "the data warehouse"]
CHORES = ["needs its TLS certificate renewed", "is owned by the platform team", "logs to Loki"]
PLACES = ["in Frankfurt", "in Oregon", "on the old rack", "in the shared VPC"]
FILLERS = [
    f"Item {i}: {s} {c} {p}"
    for i, (s, c, p) in enumerate(
        (s, c, p) for s in SUBJECTS for c in CHORES for p in PLACES for _ in range(3)
    )
][:THRESHOLD]
NEW = "The build cache lives on the fast NVMe volume of the runner"


def wait_index(client: httpx.Client, state: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (status := client.get("/api/semantic").json())["index"] != state:
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    return status


@pytest.fixture(scope="module")
def approx_daemon() -> Iterator[Daemon]:
    home = short_tmpdir()
    env = daemon_env(home, MEMORY_SEMANTIC="1", MEMORY_SEMANTIC_APPROX_MIN=str(THRESHOLD))
    daemon = Daemon(home, env).start()
    try:
        yield daemon
    finally:
        daemon.stop()


def test_past_the_threshold_the_approximate_index_takes_over(approx_daemon: Daemon) -> None:
    client = approx_daemon.client()
    for text in [PARAPHRASED, *DISTRACTORS, *FILLERS]:
        store(client, text)
    total = 1 + len(DISTRACTORS) + len(FILLERS)
    wait_embedded(client, total)
    status = wait_index(client, "approximate")
    assert status["indexed"] == total and status["index_builds"] >= 1
    sidecar = sidecar_path(approx_daemon.db)
    assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600
    assert recall(client, QUERY)[0] == PARAPHRASED
    assert recall(client, "invoice service Go")[0] == DISTRACTORS[0]

    # Embedded after the file was built: searched exactly, found at once.
    store(client, NEW)
    wait_embedded(client, total + 1)
    assert NEW in recall(client, "where does the build cache live")

    # Never embedded, above the threshold as below it: the memory stored after it is.
    secret = store(client, "my alpine hiking club password is hunter22", force_sensitive=True)
    later = store(client, "Our team offsite will be by the sea")
    wait_embedded(client, total + 2)
    rowid_of, vectors = embedded(approx_daemon.db)
    assert rowid_of[secret] not in vectors and rowid_of[later] in vectors


def test_a_deleted_memory_never_comes_back_even_after_a_damaged_file(
    approx_daemon: Daemon,
) -> None:
    client = approx_daemon.client()
    indexed = wait_index(client, "approximate")["indexed"]
    found = client.post("/api/memories/recall", json={"context": QUERY, "limit": 1}).json()
    paraphrased_id = found["memories"][0]["id"]
    assert client.delete(f"/api/memories/{paraphrased_id}").status_code in (200, 204)
    wait_embedded(client, indexed - 1)
    assert PARAPHRASED not in recall(client, QUERY)

    approx_daemon.stop()
    sidecar = sidecar_path(approx_daemon.db)
    sidecar.write_bytes(sidecar.read_bytes()[:5000])  # cut short: a crash, a full disk
    approx_daemon.start()
    client = approx_daemon.client()
    wait_index(client, "approximate")  # rebuilt in the background, the daemon serving
    assert client.get("/api/semantic").json()["indexed"] == indexed - 1
    assert PARAPHRASED not in recall(client, QUERY)
    assert NEW in recall(client, "where does the build cache live")


def test_a_file_damaged_while_in_use_is_rebuilt_and_recall_goes_on(
    approx_daemon: Daemon,
) -> None:
    client = approx_daemon.client()
    builds = wait_index(client, "approximate")["index_builds"]
    os.truncate(sidecar_path(approx_daemon.db), 5000)  # the daemon holds this very file open
    assert NEW in recall(client, "where does the build cache live")  # lexical meanwhile, no 500
    deadline = time.monotonic() + 120
    while (status := client.get("/api/semantic").json())["index_builds"] == builds:
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    wait_index(client, "approximate")
    assert NEW in recall(client, "where does the build cache live")
    assert DISTRACTORS[2] in recall(client, "which postgres version does staging use")


def test_memory_semantic_approx_min_is_a_validated_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().semantic_approx_min == 50_000
    monkeypatch.setenv("MEMORY_SEMANTIC_APPROX_MIN", "2000")
    assert load_settings().semantic_approx_min == 2000
    for bad in ("5", "lots"):  # too small to fit an index to; not a number
        monkeypatch.setenv("MEMORY_SEMANTIC_APPROX_MIN", bad)
        with pytest.raises(ConfigError, match="MEMORY_SEMANTIC_APPROX_MIN"):
            load_settings()
