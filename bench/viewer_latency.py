"""The memory viewer's search page at 10k memories: its server time (the Server-Timing header
the viewer sets: from the request's arrival to the answer's first byte, API calls and rendering
included) and the time a client over loopback TCP waits for the whole page, next to the recall
request the page is built on, asked of the same daemon over its socket.

    .venv/bin/python bench/viewer_latency.py [--size 10000] [--queries 300]

The database is built once with the real store and cached in /tmp/memoryd-bench/ (shared with
bench/recall_latency.py). Lexical recall, as there (MEMORY_SEMANTIC=0). Target: p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import DaemonProcess, machine, queries, summary
from recall_latency import database


def timed(
    client: httpx.Client, paths: list[str], warm: int = 20
) -> tuple[list[float], list[float]]:
    """(server times, client times) in ms."""
    for path in paths[:warm]:
        client.get(path)
    server, total = [], []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        total.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text[:300]
        server.append(float(response.headers["server-timing"].split("dur=")[1]))
    return server, total


def recall_times(sock: Path, contexts: list[str]) -> list[float]:
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://m") as c:
        times = []
        for context in contexts[:20] + contexts:
            started = time.perf_counter()
            response = c.post("/api/memories/recall", json={"context": context, "limit": 26})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    return times[20:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    print(machine())
    contexts = [context for context, _ in queries(args.queries)]
    # A copy: the daemon migrates the database it opens, and the cache is shared with other
    # checkouts' benchmarks (a schema newer than theirs would make their daemons refuse it).
    copy = Path(tempfile.mkdtemp(prefix="mdv", dir="/tmp")) / "memory.db"
    shutil.copyfile(database(args.size), copy)
    daemon = DaemonProcess(copy)
    try:
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(daemon.socket))) as api:
            opened = api.post("http://m/api/viewer", json={}).json()
        with httpx.Client(timeout=30, follow_redirects=True) as browser:
            assert browser.get(opened["url"]).status_code == 200  # the session cookie
            base = f"http://127.0.0.1:{opened['port']}"
            encoded = [httpx.QueryParams({"q": c}) for c in contexts]
            page = timed(browser, [f"{base}/?{q}" for q in encoded])
            fragment = timed(browser, [f"{base}/search/results?{q}" for q in encoded])
            filtered = timed(browser, [f"{base}/?{q}&tag=t7&source=manual" for q in encoded])
            newest = timed(browser, [f"{base}/?page={i % 5}" for i in range(len(contexts))])
        recall = recall_times(daemon.socket, contexts)
    finally:
        daemon.stop()
        shutil.rmtree(copy.parent, ignore_errors=True)
    print(f"{args.size} memories, {len(contexts)} queries; server time, then client time")
    for label, (server, client) in (
        ("search page, ranked       ", page),
        ("live results fragment     ", fragment),
        ("search page, tag+source   ", filtered),
        ("newest memories (list)    ", newest),
    ):
        print(f"  {label} server {summary(server)}")
        print(f"  {' ' * len(label)} client {summary(client)}")
    print(f"  recall alone (limit 26, the page's first page), Unix socket {summary(recall)}")
    p50 = sorted(page[0])[len(page[0]) // 2] / sorted(recall)[len(recall) // 2]
    print(f"  ratio page server time / recall p50 {p50:.2f}", flush=True)


if __name__ == "__main__":
    main()
