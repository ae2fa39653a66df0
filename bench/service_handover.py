"""What an upgrade and a backup cost: the window without a daemon during a version handover,
next to a plain cold start, and `memory backup` of a filled database.

An "old" daemon (same code, claiming version 0.0.9) is filled with N memories; then, per run:
POST /api/admin/handover and wait for its process to be gone (handover), start the current
memoryd and wait for a healthy /health (start). The window a client sees is handover + start.
The cold start alone (no handover) is measured in the same run for the ratio.

    python bench/service_handover.py                 # 1000 memories, 5 runs
    python bench/service_handover.py --memories 10000 --runs 10
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from memory_core.handover import request_handover, wait_gone  # noqa: E402
from memory_core.unix_http import probe_health  # noqa: E402
from memory_core.version import PROTOCOL, __version__  # noqa: E402
from memoryd.service.backup import backup_database  # noqa: E402
from tests.support import daemon_env, short_tmpdir  # noqa: E402

PRETEND = (
    "import sys, memory_core.version as v; v.__version__ = sys.argv[1]; "
    "from memoryd.cli.daemon_cmd import main; raise SystemExit(main(['serve']))"
)


def start(env: dict[str, str], version: str | None) -> tuple[subprocess.Popen[bytes], float]:
    argv = [sys.executable, "-m", "memoryd", "serve"]
    if version:
        argv = [sys.executable, "-c", PRETEND, version]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock = Path(env["MEMORY_SOCKET"])
    while probe_health(sock, timeout=5) is None:
        if proc.poll() is not None:
            raise SystemExit(f"daemon exited with {proc.returncode}")
        time.sleep(0.005)
    return proc, time.perf_counter() - t0


def fill(env: dict[str, str], n: int) -> None:
    import httpx

    with httpx.Client(
        transport=httpx.HTTPTransport(uds=env["MEMORY_SOCKET"]), base_url="http://m", timeout=60
    ) as client:
        for start_at in range(0, n, 500):
            batch = [
                {"content": f"memory {i} about subject{i % 97} and detail{i}", "category": "facts"}
                for i in range(start_at, min(n, start_at + 500))
            ]
            client.post("/api/memories/import", json=batch).raise_for_status()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memories", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = short_tmpdir()
    env = daemon_env(home)
    sock = Path(env["MEMORY_SOCKET"])
    proc, _ = start(env, "0.0.9")
    fill(env, args.memories)
    handover, startup, cold = [], [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        request_handover(sock, __version__, PROTOCOL)
        proc.wait()
        handover.append(time.perf_counter() - t0)
        proc, took = start(env, None)
        startup.append(took)
        # Cold start for the ratio: stop (SIGTERM) and start again, no handover involved.
        proc.terminate()
        proc.wait()
        proc, took = start(env, None)
        cold.append(took)
        proc.terminate()
        proc.wait()
        proc, _ = start(env, "0.0.9")
    proc.terminate()
    proc.wait()
    assert wait_gone(proc.pid, 5)
    target = short_tmpdir() / "backup.db"
    backup = backup_database(home / "memory" / "memory.db", target)
    cpus = os.cpu_count()
    print(
        f"machine: {platform.machine()} {cpus} cpus, load {os.getloadavg()[0]:.1f}, "
        f"python {platform.python_version()}, {args.memories} memories, {args.runs} runs"
    )
    for name, values in (("handover", handover), ("start", startup), ("cold start", cold)):
        print(
            f"{name:<11} median {statistics.median(values) * 1000:7.0f} ms   "
            f"p95 {pct(values, 0.95) * 1000:7.0f} ms"
        )
    window = [a + b for a, b in zip(handover, startup, strict=True)]
    print(
        f"window      median {statistics.median(window) * 1000:7.0f} ms   "
        f"= {statistics.median(window) / statistics.median(cold):.2f}x a cold start"
    )
    print(
        f"backup      {backup.memories} memories, {backup.bytes / 1e6:.1f} MB in "
        f"{backup.seconds * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
