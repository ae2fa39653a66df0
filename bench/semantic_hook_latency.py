"""Issue 16's latency targets at 10k memories with the semantic leg on, in one run: recall over
the socket; one prompt hook process; 8 prompt hooks at once (bursts, as bench/hook_latency.py
makes them) against 8 bare `python -S -c pass` in the same run; and the plugin's prompt hook
as Claude Code runs it, an `mcp_tool` hook: memory_prompt_context called with the hook's
input through 8 running MCP shims at once, its text checked to be hook JSON, with the shims'
own CPU per call.

The store is bench/hook_latency.py's 10k memories; their vectors are random unit vectors
written straight into `memory_vectors` under the packaged model's id before the semantic daemon
starts (it loads them and has nothing to embed). Latency does not depend on the vectors'
values (the same product over 10k x 384, the same query embedding), and embedding 10k
memories first would take minutes of both cores on this shared machine.

    .venv/bin/python bench/semantic_hook_latency.py [--runs 160] [--code DIR]

`--code DIR` runs the daemon from another source tree (`git archive <commit> | tar -x -C DIR`),
so that two commits can be compared in one sitting, alternately, under the same load. Besides
wall times it prints the daemon's CPU per request (/proc/<pid>/stat, whatever the machine's
load), split between the event loop's thread and the others (SQLite connections, the query
embedding and the vector product), and the daemon alone answering 8 prompt requests at once.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import random
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import anyio
import numpy as np
from mcp import Client
from mcp.types import TextContent

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import hook_latency as hl  # noqa: E402
import hook_load  # noqa: E402
import raw_mcp  # noqa: E402
from hook_load import cpu_s  # noqa: E402

from memoryd.semantic.model import PACKAGED_ID  # noqa: E402
from tests.support import Daemon, daemon_env, short_tmpdir  # noqa: E402

SIZE = 10_000


def shims_cpu_s() -> float:
    """The CPU seconds of this process's `python -m mcp_shim` children (the running shims)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == os.getpid() and b"mcp_shim" in (entry / "cmdline").read_bytes():
                total += cpu_s(int(entry.name))
        except (OSError, ValueError):
            continue  # gone meanwhile
    return total


def hook_json(text: str) -> str:
    """The additionalContext of a prompt hook's answer ("" for `{}`); anything else fails."""
    answer = json.loads(text)
    if answer == {}:
        return ""
    output = answer["hookSpecificOutput"]
    assert list(answer) == ["hookSpecificOutput"] and output["hookEventName"] == "UserPromptSubmit"
    return str(output["additionalContext"])


def loop_cpu_s(pid: int) -> float:
    """The CPU seconds of the daemon's main thread, the one running the event loop."""
    return cpu_s(pid, f"/proc/{pid}/task/{pid}/stat")


def random_vectors(db: Path) -> None:
    conn = sqlite3.connect(db)
    rowids = [
        r[0]
        for r in conn.execute(
            "SELECT rowid FROM memories WHERE deleted_ms IS NULL AND is_sensitive = 0"
        )
    ]
    vectors = np.random.default_rng(1).standard_normal((len(rowids), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    conn.executemany(
        "INSERT INTO memory_vectors (rowid, model, vector) VALUES (?, ?, ?)",
        [(r, PACKAGED_ID, v.tobytes()) for r, v in zip(rowids, vectors, strict=True)],
    )
    conn.commit()
    conn.close()


def bench_env(home: Path, semantic: str) -> dict[str, str]:
    """A bench daemon's environment: `semantic` "1" or "0"; the Anthropic API unreachable."""
    return daemon_env(
        home,
        MEMORY_SEMANTIC=semantic,
        ANTHROPIC_API_KEY="sk-bench",
        ANTHROPIC_BASE_URL="http://127.0.0.1:9",
    )


def filled_store(home: Path, code: Path | None = None) -> tuple[random.Random, list[str]]:
    """SIZE memories in `home` (bench/hook_latency.py's), stored by a lexical daemon run from
    `code`, with random vectors; the generator and the rare words, for the prompts."""
    rng = random.Random(7)
    rare = hl.vocabulary(rng)
    daemon = Daemon(home, bench_env(home, "0"), cwd=code).start()
    try:
        hl.fill(daemon.client(timeout=120), SIZE, 0, rng, rare)
    finally:
        daemon.stop()
    random_vectors(daemon.db)
    return rng, rare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=160)
    parser.add_argument("--code", type=Path, help="run the daemon from this source tree")
    parser.add_argument(
        "--lexical", action="store_true", help="the same runs with the semantic leg off"
    )
    args = parser.parse_args()
    home = short_tmpdir()
    rng, rare = filled_store(home, args.code)
    daemon = Daemon(home, bench_env(home, "0" if args.lexical else "1"), cwd=args.code).start()
    try:
        client = daemon.client(timeout=120)
        print(f"<!-- {hl.settle(client)} -->")
        os.environ.update(MEMORY_SOCKET=str(daemon.socket), MEMORY_HOME=str(home))
        os.environ.pop("XDG_RUNTIME_DIR", None)
        python = sys.executable
        counter = iter(range(10**9))

        def text() -> str:
            words = [rng.choice(hl.COMMON) for _ in range(2)] + [rng.choice(rare) for _ in range(3)]
            return "how do we handle the " + " and ".join(words) + " here?"

        def prompt(worker: int, i: int) -> tuple[list[str], str]:
            event = {
                "session_id": f"bench-{next(counter)}",
                "transcript_path": "/nonexistent/t.jsonl",
                "cwd": "/tmp/shop",
                "hook_event_name": "UserPromptSubmit",
                "prompt": text(),
            }
            return [python, "-S", str(hl.HOOK), "prompt"], json.dumps(event)

        def bare(worker: int, i: int) -> tuple[list[str], str]:
            return [python, "-S", "-c", "pass"], ""

        print(f"load average before: {os.getloadavg()}")
        assert daemon.proc is not None
        pid = daemon.proc.pid
        recall = hook_load.Samples()
        before = cpu_s(pid)
        for _ in range(300):
            started = time.perf_counter()
            response = client.post("/api/memories/recall", json={"context": text(), "limit": 10})
            response.raise_for_status()
            recall.wall.append(time.perf_counter() - started)
        recall_cpu_ms = (cpu_s(pid) - before) / 300 * 1000
        print("| case | p50 ms | p95 ms | p99 ms | CPU p50 ms | n | p50 ratio |")
        print("|---|---|---|---|---|---|---|")
        print(hook_load.row("recall over the socket, limit 10", recall, None))
        alone = hook_load.load(bare, args.runs, 1)
        print(hook_load.row("`python -S -c pass`, 1 session", alone, None))
        print(hook_load.row("prompt hook, 1 session", hook_load.load(prompt, args.runs, 1), alone))
        bare8 = hook_load.burst(bare, args.runs, 8)
        print(hook_load.row("`python -S -c pass`, 8 at once (bursts)", bare8, None))
        before, before_loop = cpu_s(pid), loop_cpu_s(pid)
        hooks8 = hook_load.burst(prompt, args.runs, 8)
        hook_cpu_ms = (cpu_s(pid) - before) / len(hooks8.wall) * 1000
        loop_ms = (loop_cpu_s(pid) - before_loop) / len(hooks8.wall) * 1000
        print(hook_load.row("prompt hook, 8 at once (bursts)", hooks8, bare8))
        events = [prompt(0, 0)[1] for _ in range(args.runs)]
        before = cpu_s(pid)
        alone8 = asyncio.run(hl.daemon_bursts(daemon.async_client(timeout=120), events, 8))
        alone_cpu_ms = (cpu_s(pid) - before) / len(alone8.wall) * 1000
        alone_row = "daemon only: POST /api/hooks/prompt, 8 at once (bursts)"
        print(hook_load.row(alone_row, alone8, None))
        shim = hl.shim_params(python)
        texts = [json.loads(e)["prompt"] for e in events]
        answers: list[str] = []

        async def prompt_hook(shim: Client, text: str) -> None:
            """What Claude Code's `mcp_tool` prompt hook sends (hooks/hooks.json), a session
            of its own per prompt like the command hooks above; the text must be hook JSON."""
            hook_input = {
                "prompt": text,
                "session_id": f"bench-{next(counter)}",
                "cwd": "/tmp/shop",
            }
            result = await shim.call_tool("memory_prompt_context", hook_input)
            assert not result.is_error and isinstance(result.content[0], TextContent)
            answers.append(hook_json(result.content[0].text))

        shims8 = anyio.run(hl.shim_bursts, shim, texts, 8, prompt_hook, shims_cpu_s)
        row = "prompt hook as `mcp_tool`: via 8 running MCP shims, 8 at once (bursts)"
        print(hook_load.row(row, shims8, bare8))
        injected = sum(1 for a in answers if a)
        print(
            f"shim CPU per prompt hook call {shims8.cpu[0] * 1000:.2f} ms; "
            f"{injected} of {len(answers)} answers injected memories, the others were {{}}"
        )
        shim_ratio = hook_load.percentile(shims8.wall, 0.95) / hook_load.percentile(
            bare8.wall, 0.95
        )
        print(f"p95 ratio, 8 shims / 8 bare: {shim_ratio:.2f}")

        # The same calls without the MCP SDK's client (Claude Code's own client is not in the
        # bench's process): JSON-RPC lines to the same shims (bench/raw_mcp.py).
        def raw_calls() -> list[tuple[str, dict[str, str]]]:
            """The hook calls of one row, each in a session of its own (as above)."""
            return [
                (
                    "memory_prompt_context",
                    {"prompt": t, "session_id": f"bench-{next(counter)}", "cwd": "/tmp/shop"},
                )
                for t in texts
            ]

        shim_argv, shim_env = [python, "-m", "mcp_shim"], dict(shim.env or {})
        raw8 = anyio.run(
            raw_mcp.bursts,
            shim_argv,
            shim_env,
            Path("/tmp"),
            raw_calls(),
            8,
            hook_json,
            None,
            shims_cpu_s,
        )
        raw_shim_ms = raw8.cpu[0] * 1000
        print(hook_load.row("the same through JSON-RPC lines, 8 at once (bursts)", raw8, bare8))
        raw_ratio = hook_load.percentile(raw8.wall, 0.95) / hook_load.percentile(bare8.wall, 0.95)
        print(f"p95 ratio, 8 shims (JSON-RPC lines) / 8 bare: {raw_ratio:.2f}")
        # The same in the 2026 protocol, the one the pinned Claude Code CLI speaks (no
        # handshake, the per-request envelope in every call's `_meta`).
        modern8 = anyio.run(
            functools.partial(raw_mcp.bursts, shims_cpu=shims_cpu_s, modern=True),
            shim_argv,
            shim_env,
            Path("/tmp"),
            raw_calls(),
            8,
            hook_json,
        )
        modern_row = "the same in the 2026 protocol (the CLI's), 8 at once (bursts)"
        print(hook_load.row(modern_row, modern8, bare8))
        modern_ratio = hook_load.percentile(modern8.wall, 0.95) / hook_load.percentile(
            bare8.wall, 0.95
        )
        print(f"p95 ratio, 8 shims (2026 protocol) / 8 bare: {modern_ratio:.2f}")
        print(f"shim CPU per prompt hook call in the 2026 protocol {modern8.cpu[0] * 1000:.2f} ms")
        # And with 8 bare interpreters started in each burst beside the 8 hook calls.
        bare_beside = hook_load.Samples()
        bare_argv = bare(0, 0)[0]

        def one_bare() -> None:
            wall, cpu = hook_load.timed(bare_argv, "", dict(os.environ))
            bare_beside.wall.append(wall)
            bare_beside.cpu.append(cpu)

        mixed = anyio.run(
            raw_mcp.bursts, shim_argv, shim_env, Path("/tmp"), raw_calls(), 8, hook_json, one_bare
        )
        print(hook_load.row("the same, 8 bare interpreters in each burst: the hooks", mixed, None))
        print(hook_load.row("the same: the 8 bare interpreters beside them", bare_beside, None))
        mixed_ratio = hook_load.percentile(mixed.wall, 0.95) / hook_load.percentile(
            bare_beside.wall, 0.95
        )
        print(f"p95 ratio, 8 shims / 8 bare in the same bursts: {mixed_ratio:.2f}")
        print(f"shim CPU per prompt hook call through JSON-RPC lines {raw_shim_ms:.2f} ms")
        print(
            f"daemon CPU per recall {recall_cpu_ms:.1f} ms, per prompt hook {hook_cpu_ms:.1f} ms "
            f"({loop_ms:.1f} ms of it on the event loop's thread), per prompt request without "
            f"hook processes {alone_cpu_ms:.1f} ms"
        )

        def p95(samples: hook_load.Samples) -> float:
            return hook_load.percentile(samples.wall, 0.95)

        print(f"p95 ratio, 8 hooks / 8 bare: {p95(hooks8) / p95(bare8):.2f}")
        print(f"load average after: {os.getloadavg()}")
    finally:
        daemon.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
