"""Semantic recall at a million memories through a real daemon (issue 20, target 4: semantic
on within 2x of lexical), without embedding a million texts (hours here: scale_semantic.py).

The scale store (bench/scale_store.py, cached in /tmp/memoryd-scale/) is copied once to --dir;
a lexical daemon migrates the copy; every memory that would be embedded (not deleted, not
sensitive, with content) gets a synthetic vector under the packaged model's id (clustered as
in ann_scale.py: the search's cost does not depend on the values), and the approximate
index's file is built from them with the daemon's own code, as the daemon would in the
background. Then the same prompts go to a lexical daemon (MEMORY_SEMANTIC=0) and to a
semantic one (the approximate index; queries embedded by the int8 query model, as a user's
are) over the socket, one after the other: wall times, the daemon's CPU per recall, RSS at
rest and after, and start-up.

    PYTHONPATH=. .venv/bin/python bench/ann_daemon.py [--queries 300] [--dir /tmp/memoryd-ann]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the daemon sets it, before numpy

import argparse
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import KEY_HEX, machine, summary
from ann_scale import CHUNK, DIMS, vectors
from scale_bench import Daemon, recall_bodies, timed_posts
from scale_corpus import Corpus
from scale_store import database

from memoryd.semantic import ivf_build
from memoryd.semantic.index import Projection
from memoryd.semantic.keeper import sidecar_path
from memoryd.semantic.model import PACKAGED_ID

COUNT = 1_000_000


def prepared(directory: Path) -> Path:
    """The scale store's copy with a vector for every memory the leg would embed, and the
    approximate index's file."""
    path = directory / f"semantic-{COUNT}.db"
    if path.exists() and sidecar_path(path).exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    shutil.copyfile(database(COUNT, KEY_HEX), partial)
    Daemon(partial).stop()  # migrates it (migration 15 among them)
    with sqlite3.connect(partial) as conn:
        rowids = np.array(
            [
                r[0]
                for r in conn.execute(
                    "SELECT rowid FROM memories WHERE deleted_ms IS NULL AND is_sensitive = 0 "
                    "AND content IS NOT NULL AND content != '' ORDER BY rowid"
                )
            ],
            dtype=np.int64,
        )
        for start in range(0, len(rowids), CHUNK):
            block = vectors(len(rowids), start)
            conn.executemany(
                "INSERT INTO memory_vectors (rowid, model, vector) VALUES (?, ?, ?)",
                [
                    (int(r), PACKAGED_ID, v.astype(np.float32).tobytes())
                    for r, v in zip(rowids[start : start + CHUNK], block, strict=True)
                ],
            )
        conn.execute("DELETE FROM memory_vectors_todo")  # as the leg does once it has embedded
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.rename(path)
    started, cpu = time.perf_counter(), time.process_time()
    projection = Projection.fit(vectors(len(rowids), 0), rows=len(rowids))
    ivf_build.build(path, sidecar_path(path), PACKAGED_ID, DIMS, projection)
    print(
        f"{len(rowids):,} vectors; index file built in {time.perf_counter() - started:.0f} s "
        f"({time.process_time() - cpu:.0f} s CPU)",
        flush=True,
    )
    return path


def wait_ready(daemon: Daemon) -> dict[str, object]:
    deadline = time.monotonic() + 600
    while True:
        status: dict[str, object] = daemon.client.get("/api/semantic").json()
        if status.get("index") == "approximate" and status.get("query_model") == "int8":
            return status
        if time.monotonic() > deadline:
            raise SystemExit(f"the semantic leg did not settle: {status}")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/memoryd-ann"))
    args = parser.parse_args()
    print(machine(), flush=True)
    path = prepared(args.dir)
    bodies = recall_bodies(Corpus(), args.queries)
    for semantic in (False, True):
        daemon = Daemon(path, semantic=semantic)
        label = "semantic" if semantic else "lexical"
        try:
            print(
                f"{label}: startup to first /health {daemon.startup_s:.2f} s "
                f"({daemon.startup_cpu_s:.2f} s CPU)",
                flush=True,
            )
            if semantic:
                print(f"  status: {wait_ready(daemon)}", flush=True)
            time.sleep(1.0)
            print(f"  RSS at rest: {daemon.rss_mib():.1f} MiB", flush=True)
            times = timed_posts(daemon, "/api/memories/recall", bodies)
            print(f"  recall over the socket ({len(times)}): {summary(times)}", flush=True)
            print(f"  RSS after: {daemon.rss_mib():.1f} MiB; load average {os.getloadavg()[0]:.1f}")
        finally:
            daemon.stop()


if __name__ == "__main__":
    main()
