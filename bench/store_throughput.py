"""Aggregate store throughput: N concurrent clients (default 16), each storing M memories
(default 200) over the daemon's socket, on a fresh database.

    .venv/bin/python bench/store_throughput.py [--clients 16] [--stores 200]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import DaemonProcess, machine, sentences, summary


async def client(sock: Path, texts: list[str], latencies: list[float]) -> int:
    errors = 0
    transport = httpx.AsyncHTTPTransport(uds=str(sock))
    async with httpx.AsyncClient(transport=transport, base_url="http://m", timeout=60) as c:
        for text in texts:
            started = time.perf_counter()
            response = await c.post("/api/memories", json={"content": text, "tags": ["bench"]})
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status_code != 201
    return errors


async def run(
    sock: Path, clients: int, stores: int, seed: int = 99
) -> tuple[float, int, list[float]]:
    texts = [f"{seed} {t}" for t in sentences(clients * stores, seed=seed)]
    latencies: list[float] = []
    started = time.perf_counter()
    errors = await asyncio.gather(
        *(client(sock, texts[n * stores : (n + 1) * stores], latencies) for n in range(clients))
    )
    return time.perf_counter() - started, sum(errors), latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--stores", type=int, default=200)
    args = parser.parse_args()
    print(machine())
    db = Path(tempfile.mkdtemp(prefix="mdt", dir="/tmp")) / "memory.db"
    daemon = DaemonProcess(db)
    try:
        asyncio.run(run(daemon.socket, 4, 25, seed=1))  # warm-up, other texts
        elapsed, errors, latencies = asyncio.run(run(daemon.socket, args.clients, args.stores))
    finally:
        daemon.stop()
    total = args.clients * args.stores
    print(
        f"{args.clients} clients x {args.stores} stores: {total} in {elapsed:.2f} s = "
        f"{total / elapsed:,.0f} stores/s aggregate, {errors} errors"
    )
    print(f"  per-store latency        {summary(latencies)}")


if __name__ == "__main__":
    main()
