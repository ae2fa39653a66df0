"""Import throughput as users run it: `memory import FILE` (the CLI, which sends the file in
requests of 500 items) into a running daemon on a fresh database, while one
interactive client keeps storing memories (one every --pause seconds) on the same socket. Prints the
import's wall time, its rate, and the interactive stores' latency while it ran.

    .venv/bin/python bench/import_throughput.py [--items 10000 100000] [--runs 1] [--pause 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import DaemonProcess, machine, percentile, sentences, summary, unix_post

CHECKOUT = Path(__file__).resolve().parent.parent


def export_file(count: int, folder: Path) -> Path:
    """A `memory export` file of `count` memories: ids, times, tags, as another machine's
    export gives them."""
    path = folder / f"export-{count}.jsonl"
    day = 86_400_000
    with path.open("w") as out:
        for n, text in enumerate(sentences(count, seed=5)):
            created = 1_700_000_000_000 + n * 1000
            record = {
                "id": f"{n >> 16:08x}-{n & 0xFFFF:04x}-7000-8000-{n:012x}",
                "content": text,
                "category": ("facts", "decisions", "preferences", "projects")[n % 4],
                "tags": [f"topic{n % 37}", "imported"],
                "expanded_keywords": "",
                "importance": 0.5,
                "is_sensitive": False,
                "project": f"project{n % 5}",
                "source": "manual",
                "created_at": _iso(created),
                "updated_at": _iso(created + (n % 3) * day),
            }
            out.write(json.dumps(record) + "\n")
    return path


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


async def interactive(
    sock: Path, running: asyncio.Event, latencies: list[float], pause: float
) -> int:
    """Store a memory every `pause` seconds (after the previous answer) until the import has
    finished; the errors."""
    errors = 0
    reader, writer = await asyncio.open_unix_connection(str(sock))
    try:
        n = 0
        while running.is_set():
            body = json.dumps({"content": f"interactive note {n} while importing"}).encode()
            started = time.perf_counter()
            status, _ = await unix_post(reader, writer, "/api/memories", body)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += status != 201
            n += 1
            await asyncio.sleep(pause)
    finally:
        writer.close()
        await writer.wait_closed()
    return errors


async def timed_import(
    daemon: DaemonProcess, path: Path, pause: float
) -> tuple[float, int, list[float], int]:
    """The CLI's import of `path`: its wall time and exit code, and the interactive stores'
    latencies and errors meanwhile."""
    running = asyncio.Event()
    running.set()
    latencies: list[float] = []
    writer = asyncio.create_task(interactive(daemon.socket, running, latencies, pause))
    started = time.perf_counter()
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "memoryd.cli.memory_cmd",
        "import",
        str(path),
        env=daemon.env,
        cwd=CHECKOUT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await cli.communicate()
    elapsed = time.perf_counter() - started
    running.clear()
    errors = await writer
    if cli.returncode:
        print(stderr.decode()[-2000:], file=sys.stderr)
    return elapsed, cli.returncode or 0, latencies, errors


def _children_cpu() -> float:
    """User + system CPU of this process's finished children: the CLI runs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, nargs="+", default=[10_000])
    parser.add_argument("--runs", type=int, default=1)
    # The interactive writer's pause between stores: 0.05 s is 20 stores a second, more than
    # many sessions auto-learning at once; 0 stores one after another as fast as answered.
    parser.add_argument("--pause", type=float, default=0.05)
    args = parser.parse_args()
    print(machine())
    folder = Path(tempfile.mkdtemp(prefix="mdi", dir="/tmp"))
    for count in args.items:
        path = export_file(count, folder)
        times: list[float] = []
        for run in range(args.runs):
            daemon = DaemonProcess(folder / f"memory-{count}-{run}.db")
            try:
                cpu_before, cli_before = daemon.cpu_seconds(), _children_cpu()
                elapsed, code, latencies, errors = asyncio.run(
                    timed_import(daemon, path, args.pause)
                )
                cpu, cli_cpu = daemon.cpu_seconds() - cpu_before, _children_cpu() - cli_before
            finally:
                daemon.stop()
            times.append(elapsed)
            print(
                f"import {count:,} (run {run + 1}): {elapsed:.2f} s = {count / elapsed:,.0f} "
                f"memories/s, exit {code}; {len(latencies)} interactive stores meanwhile, "
                f"{errors} errors, {summary(latencies) if latencies else 'none'}"
            )
            # Where the time went: the daemon's CPU (import and interactive stores alike) and
            # the CLI's (start-up, reading the file, sending it).
            print(f"  daemon CPU {cpu:.2f} s, CLI CPU {cli_cpu:.2f} s")
        if len(times) > 1:
            print(
                f"import {count:,}: median {statistics.median(times):.2f} s, "
                f"p95 {percentile(times, 95):.2f} s over {len(times)} runs"
            )


if __name__ == "__main__":
    main()
