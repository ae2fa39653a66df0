"""Hook processes under load, timed: a process spawned with its stdin, timed from spawn to
exit with its own CPU time, in the shapes of load a number of Claude Code sessions make (one
after another, in bursts, at random arrivals), and the table row that reports them. For
bench/hook_latency.py and bench/semantic_hook_latency.py."""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BURST_PAUSE = 0.1  # seconds between two bursts
ARRIVAL_MEAN = 0.25  # seconds between two hooks of one session, on average


def cpu_s(pid: int, stat: str = "") -> float:
    """User + system CPU seconds of a process (or of one of its threads, `stat`): its cost,
    whatever the machine's load."""
    fields = Path(stat or f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Samples:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system time of the process


def row(name: str, samples: Samples, base: Samples | None) -> str:
    ms = [v * 1000 for v in samples.wall]
    p50, p95, p99 = statistics.median(ms), percentile(ms, 0.95), percentile(ms, 0.99)
    ratio = ""
    if base:
        ratio = f"{p50 / (statistics.median(base.wall) * 1000):.2f}x"
    cpu = f"{statistics.median(samples.cpu) * 1000:.1f}" if samples.cpu else "-"
    return f"| {name} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {cpu} | {len(ms)} | {ratio} |"


def timed(argv: list[str], stdin: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall time from spawn to exit, and the process's own CPU time (from wait4)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(stdin.encode())
    proc.stdin.close()
    proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(err.decode())
    return elapsed, usage.ru_utime + usage.ru_stime


Make = Callable[[int, int], tuple[list[str], str]]
Record = Callable[[float, float], None]


def _sessions(count: int, session: Callable[[int, Record], None]) -> Samples:
    """`session(worker_id, record)` in `count` threads at once; each hook run it times is
    passed to `record(wall_s, cpu_s)`."""
    out = Samples()
    lock = threading.Lock()

    def record(elapsed: float, cpu: float) -> None:
        with lock:
            out.wall.append(elapsed)
            out.cpu.append(cpu)

    threads = [threading.Thread(target=session, args=(w, record)) for w in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def load(make: Make, runs: int, sessions: int) -> Samples:
    """`sessions` threads, each spawning `runs // sessions` processes back to back."""
    env = dict(os.environ)

    def session(worker_id: int, record: Record) -> None:
        for i in range(max(1, runs // sessions)):
            argv, stdin = make(worker_id, i)
            record(*timed(argv, stdin, env))

    return _sessions(sessions, session)


def arrivals(make: Make, runs: int, sessions: int) -> Samples:
    """`sessions` threads, each spawning a hook after a random pause (exponential, mean
    `ARRIVAL_MEAN` s) and then the next: independent sessions whose hooks overlap by chance.
    At 8 sessions that is 32 hooks a second, far more than people typing into 8 sessions."""
    env = dict(os.environ)

    def session(worker_id: int, record: Record) -> None:
        pauses = random.Random(worker_id)
        for i in range(max(1, runs // sessions)):
            argv, stdin = make(worker_id, i)
            time.sleep(pauses.expovariate(1 / ARRIVAL_MEAN))
            record(*timed(argv, stdin, env))

    return _sessions(sessions, session)


def burst(make: Make, runs: int, sessions: int) -> Samples:
    """`runs // sessions` waves: in each, `sessions` threads spawn one hook at the same instant
    (a barrier), and the next wave starts once all of them have exited and a short pause
    has let the daemon's deferred work finish (as between two prompts of a person)."""
    env = dict(os.environ)
    gate = threading.Barrier(sessions)

    def session(worker_id: int, record: Record) -> None:
        for i in range(max(1, runs // sessions)):
            argv, stdin = make(worker_id, i)
            gate.wait()
            record(*timed(argv, stdin, env))
            if gate.wait() == 0:
                time.sleep(BURST_PAUSE)  # one thread pauses; the barrier holds the others

    return _sessions(sessions, session)
