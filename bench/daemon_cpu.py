"""The daemon's own CPU per prompt hook request at 10k memories with the semantic leg on,
and whether two source trees answer the same: the steadiest figure of what a prompt costs
the machine, and a check that a change meant to cut it left every answer as it was.

    .venv/bin/python bench/daemon_cpu.py [--prompts 800] [--rounds 3] [TREE ...]

Each TREE (default: this checkout) is a source tree the daemon runs from (`git archive
<commit> | tar -x -C DIR`); with several, each round runs every tree in turn, so that two
commits are compared alternately under the same load. The store is bench/hook_latency.py's
10k memories with random vectors (bench/semantic_hook_latency.py), made once and copied for
each daemon; the prompts are the same for every tree, sent in bursts of 8 over the socket
as 8 sessions' prompt hooks would, with bench/hook_latency.py's pause between bursts. The
daemon's CPU is read from /proc before and after
(total, and the event loop's thread). An answer that differs from the first tree's is
counted: a cut meant to change nothing must show 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import hook_latency as hl  # noqa: E402
import semantic_hook_latency as shl  # noqa: E402
from hook_load import BURST_PAUSE, cpu_s, percentile  # noqa: E402

from tests.support import Daemon, short_tmpdir  # noqa: E402

WARM_UP = 80
QUIET_MOMENT_S = 5.0
BURST = 8


async def answers(
    client: httpx.AsyncClient, events: list[str], walls: list[float] | None = None
) -> list[str]:
    """Each event's answer, sent `BURST` at a time, with each one's wall time into `walls`."""
    out: list[str] = []

    async def one(event: str) -> httpx.Response:
        started = time.perf_counter()
        reply = await client.post("/api/hooks/prompt", content=event)
        if walls is not None:
            walls.append(time.perf_counter() - started)
        return reply

    async with client:
        for start in range(0, len(events), BURST):
            replies = await asyncio.gather(*(one(e) for e in events[start : start + BURST]))
            for reply in replies:
                reply.raise_for_status()
                out.append(reply.text)
            await asyncio.sleep(BURST_PAUSE)
    return out


def client_of(daemon: Daemon, keep_alive: bool) -> httpx.AsyncClient:
    """A client of the daemon's socket; by default one connection per request, as each prompt
    hook makes (the shim's `quick_post`, the command hook's process)."""
    limits = httpx.Limits(max_keepalive_connections=None if keep_alive else 0)
    return httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(uds=str(daemon.socket), limits=limits),
        base_url="http://memoryd",
        timeout=120,
    )


def measure(
    tree: Path, store: Path, events: list[str], walls: list[float], keep_alive: bool
) -> tuple[float, float, list[str]]:
    """(daemon CPU ms per prompt, of it the event loop's, the answers) of one daemon started
    from `tree` on a copy of `store`; each request's wall time into `walls`."""
    home = short_tmpdir()
    shutil.rmtree(home)
    shutil.copytree(store, home, ignore=shutil.ignore_patterns("run"))
    daemon = Daemon(home, shl.bench_env(home, "1"), cwd=tree).start()
    try:
        hl.settle(daemon.client(timeout=120))
        asyncio.run(answers(client_of(daemon, keep_alive), events[:WARM_UP]))
        # A quiet moment, as a daemon has between prompts: its upkeep after writes (the full-
        # text index's merge, memoryd/store/fts_segments.py, QUIET_S after the last write)
        # runs then, not inside the measured prompts.
        time.sleep(QUIET_MOMENT_S)
        assert daemon.proc is not None
        pid = daemon.proc.pid
        total, loop = cpu_s(pid), shl.loop_cpu_s(pid)
        said = asyncio.run(answers(client_of(daemon, keep_alive), events[WARM_UP:], walls))
        spent, on_loop = cpu_s(pid) - total, shl.loop_cpu_s(pid) - loop
    finally:
        daemon.stop()
        shutil.rmtree(home, ignore_errors=True)
    n = len(said)
    return spent / n * 1000, on_loop / n * 1000, said


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", type=Path, default=[HERE.parent])
    parser.add_argument("--prompts", type=int, default=800)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--keep-alive", action="store_true", help="reuse connections (no hook does)"
    )
    args = parser.parse_args()
    store = short_tmpdir()
    rng, rare = shl.filled_store(store)

    def text() -> str:
        words = [rng.choice(hl.COMMON) for _ in range(2)] + [rng.choice(rare) for _ in range(3)]
        return "how do we handle the " + " and ".join(words) + " here?"

    events = [
        json.dumps(
            {
                "session_id": f"cpu-{n}",
                "cwd": "/tmp/shop",
                "hook_event_name": "UserPromptSubmit",
                "prompt": text(),
            }
        )
        for n in range(WARM_UP + args.prompts)
    ]
    print(f"load average before: {os.getloadavg()}")
    figures: dict[Path, list[tuple[float, float]]] = {tree: [] for tree in args.trees}
    walls: dict[Path, list[float]] = {tree: [] for tree in args.trees}
    first: list[str] | None = None
    differing: dict[Path, int] = {tree: 0 for tree in args.trees}
    try:
        for _ in range(args.rounds):
            for tree in args.trees:
                total, loop, said = measure(
                    tree.resolve(), store, events, walls[tree], args.keep_alive
                )
                figures[tree].append((total, loop))
                if first is None:
                    first = said
                differing[tree] = max(
                    differing[tree], sum(a != b for a, b in zip(first, said, strict=True))
                )
    finally:
        shutil.rmtree(store, ignore_errors=True)
    print(f"load average after: {os.getloadavg()}")
    for tree, runs in figures.items():
        print(
            f"{tree}: daemon CPU ms per prompt "
            + ", ".join(f"{t:.2f} ({loop:.2f} loop)" for t, loop in runs)
            + f"; median {statistics.median(t for t, _ in runs):.2f}"
            + f"; answers differing from the first tree's: {differing[tree]} of {args.prompts}"
        )
        p50, p95 = (percentile(walls[tree], q) * 1000 for q in (0.5, 0.95))
        print(f"  wall ms per request in bursts of {BURST}: p50 {p50:.1f}, p95 {p95:.1f}")


if __name__ == "__main__":
    main()
