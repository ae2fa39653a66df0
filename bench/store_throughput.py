"""Aggregate store throughput: N concurrent clients (default 16), each storing M memories
(default 200) over the daemon's socket, on a fresh database.

    .venv/bin/python bench/store_throughput.py [--clients 16] [--stores 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import DaemonProcess, machine, sentences, summary


async def client(sock: Path, texts: list[str], latencies: list[float]) -> int:
    """One keep-alive connection speaking plain HTTP/1.1: a lean client, so that what is
    measured is the daemon (httpx costs about a millisecond of CPU per request, and the
    benchmark's clients share the machine's 2 cores with the daemon)."""
    errors = 0
    reader, writer = await asyncio.open_unix_connection(str(sock))
    try:
        for text in texts:
            body = json.dumps({"content": text, "tags": ["bench"]}).encode()
            started = time.perf_counter()
            writer.write(
                b"POST /api/memories HTTP/1.1\r\nhost: memoryd\r\n"
                b"content-type: application/json\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode()
                + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not head.startswith(b"HTTP/1.1 201")
    finally:
        writer.close()
        await writer.wait_closed()
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
        cpu_before = daemon.cpu_seconds()
        elapsed, errors, latencies = asyncio.run(run(daemon.socket, args.clients, args.stores))
        cpu = daemon.cpu_seconds() - cpu_before
    finally:
        daemon.stop()
    total = args.clients * args.stores
    print(
        f"{args.clients} clients x {args.stores} stores: {total} in {elapsed:.2f} s = "
        f"{total / elapsed:,.0f} stores/s aggregate, {errors} errors"
    )
    print(f"  per-store latency        {summary(latencies)}")
    # Independent of what else runs on the machine: the daemon's own CPU per store.
    print(
        f"  daemon CPU {cpu:.2f} s = {cpu / total * 1000:.3f} ms per store, "
        f"{total / cpu:,.0f} stores per daemon-CPU-second"
    )


if __name__ == "__main__":
    main()
