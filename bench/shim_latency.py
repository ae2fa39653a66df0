"""What the MCP shim costs: spawn → tools/list, and memory_recall through the shim next to the
same request sent straight to the daemon.

One real daemon on a temporary MEMORY_HOME, filled with `--memories` memories; the shim is the
real `python -m mcp_shim` subprocess driven by the SDK's stdio client, as Claude Code drives it.
Both recall paths run in the same process, interleaved, so the ratio is from one run.

    python bench/shim_latency.py                      # 20 spawns, 300 recalls, 1000 memories
    python bench/shim_latency.py --spawns 10 --recalls 100 --memories 200
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import anyio
import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support import running_daemon  # noqa: E402

_VOCABULARY = (
    "svelte react postgres redis kafka deploy staging cluster budget invoice meeting design "
    "review python rust golang terraform helm docker backup latency cache queue auth token "
    "dashboard mobile android ios billing search index migration schema test coverage lint"
)
WORDS = _VOCABULARY.split()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"p50 {statistics.median(ms):7.2f} ms  p95 {percentile(ms, 0.95):7.2f} ms  "
        f"p99 {percentile(ms, 0.99):7.2f} ms  (n={len(ms)})"
    )


def fill(client: httpx.Client, count: int, rng: random.Random) -> None:
    batch = [
        {
            "content": " ".join(rng.choice(WORDS) for _ in range(12)) + f" note {n}",
            "category": rng.choice(["facts", "preferences", "decisions", "projects"]),
            "expanded_keywords": " ".join(rng.choice(WORDS) for _ in range(6)),
        }
        for n in range(count)
    ]
    response = client.post("/api/memories/import", json=batch, timeout=120)
    response.raise_for_status()


async def spawn_to_tools_list(params: StdioServerParameters, spawns: int) -> list[float]:
    times = []
    for _ in range(spawns):
        started = time.perf_counter()
        async with Client(params) as client:
            tools = await client.list_tools()
            times.append(time.perf_counter() - started)
            assert len(tools.tools) == 7
    return times


async def recall_both(
    params: StdioServerParameters, sock: Path, recalls: int, rng: random.Random
) -> tuple[list[float], list[float]]:
    through_shim: list[float] = []
    direct: list[float] = []
    transport = httpx.AsyncHTTPTransport(uds=str(sock))
    async with (
        Client(params) as shim,
        httpx.AsyncClient(transport=transport, base_url="http://memoryd") as daemon,
    ):
        for n in range(recalls + 10):
            context = " ".join(rng.choice(WORDS) for _ in range(4))
            expanded = " ".join(rng.choice(WORDS) for _ in range(5))
            body = {"context": context, "expanded_query": expanded, "limit": 10}
            started = time.perf_counter()
            result = await shim.call_tool("memory_recall", body)
            shim_time = time.perf_counter() - started
            assert not result.is_error, result.content
            started = time.perf_counter()
            # What the shim sends for the same call (it adds the project it derived).
            response = await daemon.post(
                "/api/memories/recall",
                json={**body, "sort_by": "relevance", "category": None, "project": "bench"},
            )
            direct_time = time.perf_counter() - started
            response.raise_for_status()
            if n >= 10:  # the first calls warm both paths up
                through_shim.append(shim_time)
                direct.append(direct_time)
    return through_shim, direct


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spawns", type=int, default=20)
    parser.add_argument("--recalls", type=int, default=300)
    parser.add_argument("--memories", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(7)

    with running_daemon() as daemon:
        fill(daemon.client(), args.memories, rng)
        workdir = daemon.home / "bench"
        workdir.mkdir()
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "mcp_shim"],
            env={
                "MEMORY_HOME": str(daemon.home),
                "MEMORY_SOCKET": str(daemon.socket),
                "PYTHONPATH": str(REPO),
            },
            cwd=str(workdir),
        )
        spawn = anyio.run(spawn_to_tools_list, params, args.spawns)
        shim, direct = anyio.run(recall_both, params, daemon.socket, args.recalls, rng)

    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    print(f"machine: {machine}, Python {platform.python_version()}")
    print(f"memories: {args.memories}")
    print(f"spawn -> tools/list        {summary(spawn)}")
    print(f"memory_recall via shim     {summary(shim)}")
    print(f"same recall, direct        {summary(direct)}")
    ratio = statistics.median(shim) / statistics.median(direct)
    overhead = (statistics.median(shim) - statistics.median(direct)) * 1000
    print(f"shim/direct p50 ratio      {ratio:.2f}x  (+{overhead:.2f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
