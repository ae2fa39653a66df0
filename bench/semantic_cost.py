"""What the semantic leg costs a real daemon: memory at rest, and how soon a stored memory
is embedded.

For MEMORY_SEMANTIC=0 and =1: a daemon is filled with the coding benchmark's memories
(bench/coding/memories.jsonl) and left to embed them; it is stopped and started again on the
same store (as every later start of a user's daemon: nothing to embed), then answers 50
recalls; its RSS (VmRSS) is read then ("at rest"). With the leg on, memories are then stored
one at a time and each one's delay from the store's answer until its vector is indexed is
measured, with the single-memory embedding alone (in process, the same model) for reference.

    python bench/semantic_cost.py [--stores 30] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _daemon import REPO, ServedDaemon

MEMORIES = REPO / "bench" / "coding" / "memories.jsonl"


class Daemon(ServedDaemon):
    def __init__(self, home: Path, semantic: bool) -> None:
        settings = {
            "MEMORY_SYNC_DISABLE": "1",
            "MEMORY_AUTO_LEARN": "0",
            "MEMORY_SEMANTIC": "1" if semantic else "0",
            # MEMORY_SEMANTIC_STATIC_QUERY=0 in this script's environment: queries run the model
            "MEMORY_SEMANTIC_STATIC_QUERY": os.environ.get("MEMORY_SEMANTIC_STATIC_QUERY", "1"),
        }
        super().__init__(home, settings, start_timeout_s=60)

    def settle(self) -> dict[str, Any]:
        while True:
            status: dict[str, Any] = self.client.get("/api/semantic").json()
            if not status["enabled"] or (
                status["pending"] == 0
                and status.get("projection_current", True)
                and "building" not in (status.get("query_model"), status.get("static_queries"))
            ):
                return status
            time.sleep(0.1)


def at_rest(semantic: bool, memories: list[dict[str, Any]]) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="semcost", dir="/tmp"))
    try:
        first = Daemon(home, semantic)
        for m in memories:
            first.client.post("/api/memories", json=m).raise_for_status()
        first.settle()
        first.stop(30)
        d = Daemon(home, semantic)
        status = d.settle()
        started = d.rss_mib()
        for m in memories[:50]:
            d.client.post(
                "/api/memories/recall", json={"context": m["content"], "limit": 10}
            ).raise_for_status()
        result = {
            "semantic": semantic,
            "memories": len(memories),
            "status": status,
            "rss_started_mib": round(started, 1),
            "rss_after_50_recalls_mib": round(d.rss_mib(), 1),
        }
        d.stop(30)
        return result
    finally:
        shutil.rmtree(home, ignore_errors=True)


def store_to_vector(count: int, memories: list[dict[str, Any]]) -> dict[str, Any]:
    """Store one memory at a time; ms from the store's answer until its vector is indexed."""
    home = Path(tempfile.mkdtemp(prefix="semcost", dir="/tmp"))
    try:
        d = Daemon(home, True)
        for m in memories[:20]:  # a warm daemon: the memories' session loaded
            d.client.post("/api/memories", json=m).raise_for_status()
        indexed = d.settle()["indexed"]
        answer_ms, embedded_ms = [], []
        for i, m in enumerate(memories[20 : 20 + count]):
            start = time.perf_counter()
            d.client.post("/api/memories", json={**m, "content": f"{m['content']} ({i})"})
            answered = time.perf_counter()
            while d.client.get("/api/semantic").json()["indexed"] <= indexed:
                time.sleep(0.001)
            indexed += 1
            answer_ms.append((answered - start) * 1000)
            embedded_ms.append((time.perf_counter() - answered) * 1000)
        d.stop(30)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    sys.path.insert(0, str(REPO))
    from memoryd.semantic.embedder import Embedder

    embedder = Embedder(threads=2)
    texts = [m["content"] for m in memories[: count + 20]]
    embedder.embed(texts[:2])
    alone = []
    for text in texts[20:]:
        start = time.perf_counter()
        embedder.embed([text])
        alone.append((time.perf_counter() - start) * 1000)

    def spread(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        return {"p50": round(statistics.median(values), 2), "p95": round(p95, 2)}

    return {
        "stores": count,
        "store_answer_ms": spread(answer_ms),
        "answer_to_indexed_ms": spread(embedded_ms),
        "one_memory_embedding_in_process_ms": spread(alone),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    memories = [
        {k: v for k, v in json.loads(line).items() if k in ("content", "category", "tags")}
        for line in MEMORIES.read_text().splitlines()
        if line.strip()
    ]
    report: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": os.getloadavg()}
    report["lexical"] = at_rest(False, memories)
    report["semantic"] = at_rest(True, memories)
    report["store_to_vector"] = store_to_vector(args.stores, memories)
    report["load_after"] = os.getloadavg()
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
