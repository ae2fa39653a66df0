"""What a hook costs Claude Code: the whole hook process (spawn, stdin JSON, one request to
memoryd over the Unix socket, stdout), for auto-recall (UserPromptSubmit) and Stop.

One real daemon on a temporary MEMORY_HOME, filled with 1k and then 10k memories. Each case
runs alone (one session), with 8 sessions back to back (8 threads each spawning hooks one
after another: a sustained 8-way load) and with 8 sessions in bursts (8 threads spawning one
hook each at the same instant, then a 0.1 s pause, repeated) and with 8 sessions whose hooks
arrive at random (each session every 0.25 s on average), next to `python -c pass` with the
same interpreter under the same load; the ratio is from the same run. Every prompt is
different and every run a new session, so the per-session dedup never short-cuts retrieval.
Stop transcripts do not exist, so the learning queue records the request and judges nothing
(no model is called). "daemon only" rows time the prompt request without a hook process, one
at a time and 8 at once. Issue 4's budget (p95 <= 50 ms at 10k memories, 8 sessions' hooks
running at once) is judged on the bursts: the literal "at once", and the worst moment 8
sessions can produce (docs/benchmarks.md says why). How hook processes are spawned, timed
and loaded is bench/hook_load.py's.

    python bench/hook_latency.py                         # 1000 and 10000 memories, 200 runs
    python bench/hook_latency.py --sizes 1000 --runs 50
    python bench/hook_latency.py --lexical               # daemon without the semantic leg
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hook_load import BURST_PAUSE, Make, Samples, arrivals, burst, load, row  # noqa: E402

from tests.support import running_daemon  # noqa: E402

HOOK = REPO / "hooks" / "memory_hook.py"
RUN_HOOK = REPO / "hooks" / "run-hook.sh"
COMMON = [
    "svelte",
    "react",
    "postgres",
    "redis",
    "kafka",
    "deploy",
    "staging",
    "cluster",
    "budget",
    "invoice",
    "meeting",
    "design",
    "review",
    "python",
    "rust",
    "golang",
    "terraform",
    "helm",
    "docker",
    "backup",
    "latency",
    "cache",
    "queue",
    "auth",
    "token",
    "dashboard",
    "mobile",
    "android",
    "ios",
    "billing",
    "search",
    "index",
    "migration",
    "schema",
    "test",
    "coverage",
    "lint",
]


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(size)]


def fill(client: httpx.Client, count: int, start: int, rng: random.Random, rare: list[str]) -> None:
    batch = []
    for n in range(start, count):
        words = [rng.choice(COMMON) for _ in range(3)] + [rng.choice(rare) for _ in range(9)]
        rng.shuffle(words)
        batch.append(
            {
                "content": " ".join(words) + f" note {n}",
                "category": rng.choice(["facts", "preferences", "decisions", "projects"]),
                "expanded_keywords": " ".join(rng.choice(rare) for _ in range(5)),
                "project": rng.choice(["shop", "infra", None]),
            }
        )
        if len(batch) == 500:
            client.post("/api/memories/import", json=batch, timeout=120).raise_for_status()
            batch = []
    if batch:
        client.post("/api/memories/import", json=batch, timeout=120).raise_for_status()


def settle(client: httpx.Client) -> str:
    """Wait until the semantic leg (if on) has embedded every memory and swapped in its int8
    query model and its static query table: steady state."""
    deadline = time.monotonic() + 1800
    while True:
        state = client.get("/api/semantic").json()
        settled = not state.get("pending") and "building" not in (
            state.get("query_model"),
            state.get("static_queries"),
        )
        if not state.get("enabled") or settled or time.monotonic() > deadline:
            return f"semantic leg {'on' if state.get('enabled') else 'off'}, {state}"
        time.sleep(1)


async def daemon_bursts(client: httpx.AsyncClient, events: list[str], sessions: int) -> Samples:
    """The daemon's part of a burst: `sessions` prompt requests at once from one async client,
    then the same pause as between hook bursts, repeated."""
    out = Samples()

    async def one(event: str) -> None:
        started = time.perf_counter()
        response = await client.post("/api/hooks/prompt", content=event)
        response.raise_for_status()
        out.wall.append(time.perf_counter() - started)

    async with client:
        for start in range(0, len(events) - sessions + 1, sessions):
            await asyncio.gather(*(one(e) for e in events[start : start + sessions]))
            await asyncio.sleep(BURST_PAUSE)
    return out


ShimCall = Callable[[Client, str], Awaitable[None]]


def shim_params(python: str) -> StdioServerParameters:
    """A running shim as Claude Code starts one, on the daemon this process's environment
    names (MEMORY_HOME, MEMORY_SOCKET)."""
    return StdioServerParameters(
        command=python,
        args=["-m", "mcp_shim"],
        env={k: os.environ[k] for k in ("MEMORY_HOME", "MEMORY_SOCKET", "PATH")},
        cwd="/tmp",
    )


async def recall_call(shim: Client, prompt: str) -> None:
    result = await shim.call_tool("memory_recall", {"context": prompt, "expanded_query": ""})
    assert not result.is_error, result.content


async def shim_bursts(
    params: StdioServerParameters,
    prompts: list[str],
    sessions: int,
    call: ShimCall = recall_call,
    shims_cpu: Callable[[], float] | None = None,
) -> Samples:
    """What an `mcp_tool` UserPromptSubmit hook costs: no process to start, Claude Code
    calls the session's own MCP shim, already running. `sessions` shims each `call` (by
    default memory_recall) with a prompt at the same instant, then the burst pause, repeated.
    With `shims_cpu` (the shims' CPU seconds so far), `cpu` holds the shims' CPU per call."""
    out = Samples()

    async def one(shim: Client, prompt: str) -> None:
        started = time.perf_counter()
        await call(shim, prompt)
        out.wall.append(time.perf_counter() - started)

    async with contextlib.AsyncExitStack() as stack:
        shims = [await stack.enter_async_context(Client(params)) for _ in range(sessions)]
        for shim in shims:
            await one(shim, "warm up")
        out.wall.clear()
        before = shims_cpu() if shims_cpu else 0.0
        for start in range(0, len(prompts) - sessions + 1, sessions):
            async with anyio.create_task_group() as group:
                for shim, prompt in zip(shims, prompts[start : start + sessions], strict=True):
                    group.start_soon(one, shim, prompt)
            await anyio.sleep(BURST_PAUSE)
        if shims_cpu:
            out.cpu.append((shims_cpu() - before) / len(out.wall))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument(
        "--lexical", action="store_true", help="run the daemon with MEMORY_SEMANTIC=0"
    )
    args = parser.parse_args()
    # A SIGTERM still stops the daemon this script started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    rng = random.Random(7)
    rare = vocabulary(rng)
    python = sys.executable
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"interpreter: {python}")
    extra = {"MEMORY_SEMANTIC": "0"} if args.lexical else {}
    with running_daemon(
        ANTHROPIC_API_KEY="sk-bench", ANTHROPIC_BASE_URL="http://127.0.0.1:9", **extra
    ) as daemon:
        os.environ.update(MEMORY_SOCKET=str(daemon.socket), MEMORY_HOME=str(daemon.home))
        os.environ.pop("XDG_RUNTIME_DIR", None)
        os.environ.update(MEMORYD_PLUGIN_PYTHON=python, CLAUDE_PLUGIN_ROOT=str(REPO))
        client = daemon.client(timeout=120)
        counter = iter(range(10**9))

        def prompt(via_plugin: bool = False) -> Make:
            def make(worker: int, i: int) -> tuple[list[str], str]:
                words = [rng.choice(COMMON) for _ in range(2)] + [
                    rng.choice(rare) for _ in range(3)
                ]
                event = {
                    "session_id": f"bench-{next(counter)}",
                    "transcript_path": "/nonexistent/t.jsonl",
                    "cwd": "/tmp/shop",
                    "hook_event_name": "UserPromptSubmit",
                    "prompt": "how do we handle the " + " and ".join(words) + " here?",
                }
                if via_plugin:  # as hooks/hooks.json runs it (MEMORYD_PLUGIN_PYTHON set)
                    return ["/bin/sh", str(RUN_HOOK), "prompt"], json.dumps(event)
                # As `memory hooks install` runs it: with -S (no site).
                return [python, "-S", str(HOOK), "prompt"], json.dumps(event)

            return make

        def stop(worker: int, i: int) -> tuple[list[str], str]:
            event = {
                "session_id": f"bench-stop-{worker}",
                "transcript_path": f"/nonexistent/{worker}.jsonl",
                "cwd": "/tmp/shop",
                "hook_event_name": "Stop",
                "stop_hook_active": False,
            }
            return [python, "-S", str(HOOK), "stop"], json.dumps(event)

        def baseline(worker: int, i: int) -> tuple[list[str], str]:
            return [python, "-c", "pass"], ""

        def baseline_s(worker: int, i: int) -> tuple[list[str], str]:
            return [python, "-S", "-c", "pass"], ""

        filled = 0
        print("\n| case | p50 ms | p95 ms | p99 ms | CPU p50 ms | n | p50 / `python -c pass` |")
        print("|---|---|---|---|---|---|---|")
        for size in (int(s) for s in args.sizes.split(",")):
            fill(client, size, filled, rng, rare)
            filled = size
            print(f"<!-- {size} memories: {settle(client)} -->")
            inside = Samples()
            for _ in range(args.runs):
                _argv, stdin = prompt()(0, 0)
                started = time.perf_counter()
                client.post("/api/hooks/prompt", content=stdin).raise_for_status()
                inside.wall.append(time.perf_counter() - started)
            print(
                row(f"daemon only: POST /api/hooks/prompt, {size // 1000}k memories", inside, None)
            )
            events = [prompt()(0, 0)[1] for _ in range(args.runs)]
            together = asyncio.run(daemon_bursts(daemon.async_client(timeout=120), events, 8))
            print(
                row(
                    f"daemon only: POST /api/hooks/prompt, {size // 1000}k memories, "
                    "8 at once (bursts)",
                    together,
                    None,
                )
            )
            shim = shim_params(python)
            texts = [json.loads(e)["prompt"] for e in events]
            print(
                row(
                    f"memory_recall via 8 running MCP shims (an `mcp_tool` hook), "
                    f"{size // 1000}k memories, 8 at once (bursts)",
                    anyio.run(shim_bursts, shim, texts, 8),
                    None,
                )
            )
            shapes = [
                (load, 1, "1 session"),
                (load, 8, "8 sessions back to back"),
                (burst, 8, "8 sessions in bursts"),
                (arrivals, 8, "8 sessions, random arrivals"),
            ]
            for how, sessions, shape in shapes:
                base = how(baseline, args.runs, sessions)
                label = f"{size // 1000}k memories, {shape}"
                print(row(f"`python -c pass`, {label}", base, None))
                bare = how(baseline_s, args.runs, sessions)
                print(row(f"`python -S -c pass`, {label}", bare, base))
                print(row(f"auto-recall hook, {label}", how(prompt(), args.runs, sessions), base))
                print(row(f"Stop hook, {label}", how(stop, args.runs, sessions), base))
                if size == max(int(s) for s in args.sizes.split(",")):
                    plugin = how(prompt(via_plugin=True), args.runs, sessions)
                    print(row(f"auto-recall via hooks/run-hook.sh, {label}", plugin, base))
                sys.stdout.flush()


if __name__ == "__main__":
    main()
