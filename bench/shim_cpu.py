"""The MCP shim's own CPU per `memory_prompt_context` call: one running shim answering calls
one after another, spoken to in JSON-RPC lines (bench/raw_mcp.py), its CPU read from
/proc/<pid>/stat before and after. Nothing else runs at the same time, so the figure does not
depend on how the bursts of bench/semantic_hook_latency.py land on the 2 cores; it is the
steadiest figure of the shim's cost.

    .venv/bin/python bench/shim_cpu.py [--calls 1000] [--rounds 3] [TREE ...]
    .venv/bin/python bench/shim_cpu.py --profile /tmp/shim.prof     # cProfile the shim

Each TREE (default: this checkout) is a source tree the shim runs from (`git archive <commit>
| tar -x -C DIR`); with several, each round measures every tree in turn, so that two commits
are compared alternately under the same load. One daemon (this checkout's, lexical, 500
memories) answers them all. `--profile` runs the shim under cProfile and prints its top
functions by own time and by cumulative time.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

import anyio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import hook_latency as hl  # noqa: E402
import raw_mcp  # noqa: E402
from hook_load import cpu_s  # noqa: E402

from tests.support import Daemon, daemon_env, short_tmpdir  # noqa: E402

# The shim under cProfile timed by its main thread's CPU (the event loop's): the default wall
# clock would count the time it waits for input as the selector's.
PROFILED = """
import cProfile, runpy, time
profile = cProfile.Profile(time.thread_time)
profile.enable()
try:
    runpy.run_module("mcp_shim", run_name="__main__")
finally:
    profile.disable()
    profile.dump_stats({out!r})
"""
MEMORIES = 500
WARM_UP = 50


async def measure(
    argv: list[str], tree: Path, calls: list[dict[str, str]], run: int
) -> tuple[float, float]:
    """(shim CPU ms per call, p50 wall ms per call) of one shim started from `tree`. Each run
    has sessions of its own: a session is not told the same memories twice."""
    calls = [{**call, "session_id": f"run{run}-{call['session_id']}"} for call in calls]
    env = {k: os.environ[k] for k in ("MEMORY_HOME", "MEMORY_SOCKET", "PATH")}
    async with await anyio.open_process(argv, env=env, cwd=tree) as process:
        shim = raw_mcp.RawShim(process)
        await shim.start()
        for arguments in calls[:WARM_UP]:
            await shim.call_text("memory_prompt_context", arguments)
        before = cpu_s(process.pid)
        walls = []
        answered = 0
        for arguments in calls[WARM_UP:]:
            started = time.perf_counter()
            text = await shim.call_text("memory_prompt_context", arguments)
            walls.append(time.perf_counter() - started)
            answered += text.startswith('{"hookSpecificOutput"')
        spent = cpu_s(process.pid) - before
        assert answered > len(walls) // 2, f"only {answered} of {len(walls)} calls injected"
        assert process.stdin is not None
        await process.stdin.aclose()  # the shim exits at the end of its input
        await process.wait()
    return spent / len(walls) * 1000, statistics.median(walls) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", type=Path, default=[HERE.parent])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="cProfile the shim into this file")
    args = parser.parse_args()
    rng = random.Random(7)
    rare = hl.vocabulary(rng)
    home = short_tmpdir()
    daemon = Daemon(home, daemon_env(home, MEMORY_SEMANTIC="0")).start()
    try:
        hl.fill(daemon.client(timeout=120), MEMORIES, 0, rng, rare)
        os.environ.update(MEMORY_SOCKET=str(daemon.socket), MEMORY_HOME=str(home))
        calls = [
            {
                "prompt": "how do we handle the "
                + " and ".join([*rng.sample(hl.COMMON, 2), *rng.sample(rare, 3)])
                + " here?",
                "session_id": f"bench-{n}",
                "cwd": "/tmp/shop",
            }
            for n in range(WARM_UP + args.calls)
        ]
        argv = [sys.executable, "-m", "mcp_shim"]
        if args.profile is not None:
            argv[1:] = ["-c", PROFILED.format(out=str(args.profile.resolve()))]
        print(f"load average before: {os.getloadavg()}")
        figures: dict[Path, list[tuple[float, float]]] = {tree: [] for tree in args.trees}
        runs = iter(range(10**6))
        for _ in range(1 if args.profile else args.rounds):
            for tree in args.trees:
                figure = anyio.run(measure, argv, tree.resolve(), calls, next(runs))
                figures[tree].append(figure)
        print(f"load average after: {os.getloadavg()}")
    finally:
        daemon.stop()
    for tree, runs in figures.items():
        cpu = ", ".join(f"{c:.3f}" for c, _ in runs)
        wall = ", ".join(f"{w:.2f}" for _, w in runs)
        print(f"{tree}: shim CPU ms per call {cpu}; wall p50 ms {wall} ({args.calls} calls each)")
    if args.profile is not None:
        stats = pstats.Stats(str(args.profile))
        stats.sort_stats("tottime").print_stats(35)
        stats.sort_stats("cumulative").print_stats(60)
    print(json.dumps({str(t): r for t, r in figures.items()}))


if __name__ == "__main__":
    main()
