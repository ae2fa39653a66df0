"""A year of a developer's memories, a million of them (issue 20, target 4): what a real
`memoryd serve` costs at that size, lexical.

    .venv/bin/python bench/scale_bench.py [--count 1000000] [--queries 300] [--stages] [--db COPY]
        [--requests-only]

The store is built once (bench/scale_store.py says how and why) and cached in
/tmp/memoryd-scale/. Then, on a copy-free run of a real daemon (MEMORY_SEMANTIC=0):

- the database's size per memory;
- startup: spawn to the first answered GET /health, three times;
- RSS at rest (VmRSS once /health answers and the daemon is idle) and after the queries;
- recall over the socket: `POST /api/memories/recall` for prompts a user types (half in their
  project, as the shim sends it), after 20 warm-up ones;
- the prompt hook (`POST /api/hooks/prompt`, a new session each) and the SessionStart profile
  (`POST /api/hooks/session-start`, source startup) as the daemon answers them; beside the
  prompt hook, recall of the same prompts as the hook asks it (its pool of 12, the project of
  its directory): the hook's own cost is the difference;
- the daemon's CPU per GET /health and per GET /api/stats (`memory status` asks both);
- `memory doctor` on the same store and socket, end to end;
- with --requests-only: one startup and the requests, no doctor (under a minute at 1M);
- with --stages: each recall statement's time in process, and its query plan.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import KEY_HEX, machine, summary
from _daemon import REPO, ServedDaemon
from scale_corpus import Corpus
from scale_store import database


class Daemon(ServedDaemon):
    """`memoryd serve` on a temporary home and socket, for the given database."""

    def __init__(self, db: Path, semantic: bool = False) -> None:
        settings = {
            "MEMORY_DB": str(db),
            "MEMORY_ENCRYPTION_KEY": KEY_HEX,
            "MEMORY_SEMANTIC": "1" if semantic else "0",
        }
        home = Path(tempfile.mkdtemp(prefix="mds", dir="/tmp"))
        super().__init__(home, settings, start_timeout_s=120)
        self.startup_cpu_s = self.cpu_s()

    def stop(self, timeout_s: float = 120) -> None:
        super().stop(timeout_s)
        shutil.rmtree(self.home, ignore_errors=True)


def timed_posts(daemon: Daemon, path: str, bodies: list[dict[str, object]]) -> list[float]:
    """Wall times in ms; prints the daemon's mean CPU per request too."""
    for body in bodies[:20]:  # warm-up
        daemon.client.post(path, json=body).raise_for_status()
    times = []
    cpu = daemon.cpu_s()
    for body in bodies[20:]:
        started = time.perf_counter()
        response = daemon.client.post(path, json=body)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    print(f"  daemon CPU per request: {(daemon.cpu_s() - cpu) / len(times) * 1000:.1f} ms")
    return times


def recall_bodies(corpus: Corpus, count: int) -> list[dict[str, object]]:
    """Prompts as recall requests; half carry the project they were typed in."""
    bodies: list[dict[str, object]] = []
    for i, (prompt, project) in enumerate(corpus.prompts(count + 20)):
        body: dict[str, object] = {"context": prompt}
        if project is not None and i % 2:
            body["project"] = project
        bodies.append(body)
    return bodies


def hook_events(corpus: Corpus, count: int, kind: str) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    for i, (prompt, project) in enumerate(corpus.prompts(count + 20, seed=7)):
        event: dict[str, object] = {
            "session_id": f"scale-{kind}-{i}-{random.random()}",
            "transcript_path": "/nonexistent/t.jsonl",
            "cwd": f"/nonexistent/{project or 'scratch'}",
        }
        if kind == "prompt":
            event.update(hook_event_name="UserPromptSubmit", prompt=prompt)
        else:
            event.update(hook_event_name="SessionStart", source="startup")
        events.append(event)
    return events


def hook_recall_bodies(events: list[dict[str, object]]) -> list[dict[str, object]]:
    """The prompt hook's prompts as the hook asks recall (memoryd.sessions.inject: a pool of
    RECALL_POOL, the project its directory names)."""
    return [
        {"context": e["prompt"], "limit": 12, "project": str(e["cwd"]).rsplit("/", 1)[1]}
        for e in events
    ]


def cpu_per_get(daemon: Daemon, path: str, times: int) -> float:
    """The daemon's CPU in ms per GET of `path`."""
    cpu = daemon.cpu_s()
    for _ in range(times):
        daemon.client.get(path).raise_for_status()
    return (daemon.cpu_s() - cpu) / times * 1000


def doctor_seconds(daemon: Daemon) -> tuple[float, str]:
    memory = Path(sys.executable).with_name("memory")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [str(memory), "doctor"], env=daemon.env, cwd=REPO, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    last = (done.stdout.strip().splitlines() or ["?"])[-1]
    return elapsed, f"CPU {cpu:.1f} s, exit {done.returncode}, {last!r}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--stages", action="store_true", help="time each recall statement")
    parser.add_argument(
        "--db",
        type=Path,
        help="a copy of the store to serve instead of the shared cache (a daemon migrates and "
        "writes the store it serves)",
    )
    parser.add_argument(
        "--requests-only",
        action="store_true",
        help="one startup and the requests, without memory doctor",
    )
    args = parser.parse_args()
    print(machine(), flush=True)
    path = args.db or database(args.count, KEY_HEX)
    size = path.stat().st_size
    print(f"{args.count:,} memories: {size / 2**20:,.0f} MiB, {size / args.count:,.0f} B/memory")
    corpus = Corpus()

    starts, cpus = [], []
    for _ in range(0 if args.requests_only else 2):
        daemon = Daemon(path)
        starts.append(daemon.startup_s)
        cpus.append(daemon.startup_cpu_s)
        daemon.stop()
    daemon = Daemon(path)
    starts.append(daemon.startup_s)
    cpus.append(daemon.startup_cpu_s)
    print("startup to first /health: " + ", ".join(f"{s:.2f} s" for s in starts))
    print("  daemon CPU by then: " + ", ".join(f"{s:.2f} s" for s in cpus))
    try:
        time.sleep(1.0)
        print(f"RSS at rest: {daemon.rss_mib():.1f} MiB", flush=True)
        bodies = recall_bodies(corpus, args.queries)
        recall = timed_posts(daemon, "/api/memories/recall", bodies)
        print(f"recall over the socket ({len(recall)}): {summary(recall)}", flush=True)
        in_project = [t for t, b in zip(recall, bodies[20:], strict=True) if "project" in b]
        print(f"  of which with a project ({len(in_project)}): {summary(in_project)}")
        hooks = args.queries // 2
        events = hook_events(corpus, hooks, "prompt")
        prompt = timed_posts(daemon, "/api/hooks/prompt", events)
        print(f"prompt hook, daemon side ({len(prompt)}): {summary(prompt)}", flush=True)
        # After the hook, as before this comparison was added: the words' counts it kept
        # help this recall, not the hook, so the difference is the hook's cost at most.
        same = timed_posts(daemon, "/api/memories/recall", hook_recall_bodies(events))
        print(f"recall of the prompt hook's prompts ({len(same)}): {summary(same)}", flush=True)
        start = timed_posts(
            daemon, "/api/hooks/session-start", hook_events(corpus, hooks // 2, "start")
        )
        print(f"SessionStart profile, daemon side ({len(start)}): {summary(start)}", flush=True)
        print(f"RSS after the queries: {daemon.rss_mib():.1f} MiB")
        print(f"daemon CPU per GET /health: {cpu_per_get(daemon, '/health', 20):.1f} ms")
        print(f"daemon CPU per GET /api/stats: {cpu_per_get(daemon, '/api/stats', 3):.0f} ms")
        if not args.requests_only:
            elapsed, outcome = doctor_seconds(daemon)
            print(f"memory doctor: {elapsed:.1f} s ({outcome})")
        stats = daemon.client.get("/api/stats").json()
        print("stats: " + json.dumps({k: stats[k] for k in ("total", "sensitive", "db_bytes")}))
    finally:
        daemon.stop()
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.stages:
        from scale_stages import stages

        stages(path, bodies[:120])


if __name__ == "__main__":
    main()
