"""Shared by the benchmarks: a synthetic corpus, a daemon process, and percentiles."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEY_HEX = "5e" * 32  # a fixed key, so that a cached database matches the daemon's key
CORPUS_VERSION = 2  # part of the cache file names: bump when the corpus changes

# A Zipf-like vocabulary: a few common words, many rare ones, as in real notes.
_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "nu",
    "pe",
    "ra",
    "si",
    "to",
    "vu",
    "ze",
    "ba",
    "de",
    "fi",
    "go",
    "hu",
    "ja",
    "ke",
    "li",
    "mo",
    "ne",
    "pi",
    "ro",
    "su",
    "ti",
]


# The most frequent words of English text are stopwords, which recall drops from queries.
_COMMON = [
    "the",
    "to",
    "and",
    "of",
    "a",
    "in",
    "is",
    "that",
    "for",
    "it",
    "on",
    "with",
    "as",
    "was",
    "be",
    "at",
    "this",
    "have",
    "from",
    "or",
    "by",
    "not",
    "but",
    "are",
    "we",
    "an",
    "they",
    "you",
    "do",
    "if",
    "so",
    "can",
    "will",
    "my",
    "all",
    "there",
    "their",
    "would",
    "about",
]


def vocabulary(size: int, seed: int = 7) -> list[str]:
    """Most frequent first: real stopwords, then made-up words."""
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < size - len(_COMMON):
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    made_up = sorted(words)
    rng.shuffle(made_up)
    return _COMMON + made_up


def sentences(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    vocab = vocabulary(5000)
    weights = [1 / (rank + 1) for rank in range(len(vocab))]
    out = []
    for n in range(count):
        words = rng.choices(vocab, weights, k=rng.randint(8, 24))
        out.append(f"note {n}: " + " ".join(words))
    return out


def queries(count: int, seed: int = 13) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    vocab = vocabulary(5000)
    weights = [1 / (rank + 1) for rank in range(len(vocab))]
    return [
        (
            " ".join(rng.choices(vocab, weights, k=rng.randint(2, 5))),
            " ".join(rng.choices(vocab, weights, k=rng.randint(0, 3))),
        )
        for _ in range(count)
    ]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values_ms: list[float]) -> str:
    return (
        f"p50 {statistics.median(values_ms):6.2f} ms  p95 {percentile(values_ms, 95):6.2f} ms  "
        f"p99 {percentile(values_ms, 99):6.2f} ms"
    )


class DaemonProcess:
    """`memoryd serve` on a temporary socket, for the given database."""

    def __init__(self, db: Path, semantic: bool = False) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="mdb", dir="/tmp"))
        self.socket = self.home / "run" / "d.sock"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
        env.pop("XDG_RUNTIME_DIR", None)
        env.update(
            MEMORY_HOME=str(self.home),
            MEMORY_DB=str(db),
            MEMORY_SOCKET=str(self.socket),
            MEMORY_ENCRYPTION_KEY=KEY_HEX,
            # Lexical recall, as measured in-process; the semantic leg has its own benchmark.
            MEMORY_SEMANTIC="1" if semantic else "0",
        )
        self.env = env  # for a CLI run against this daemon (`memory import`)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "memoryd", "serve"],
            env=env,
            # `-m` puts the working directory first on sys.path: run from the checkout this
            # script belongs to, so that an A/B run from a git worktree measures that tree's
            # daemon (from elsewhere, the editable install's tree was measured instead).
            cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        import socket

        while time.monotonic() < deadline:
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(str(self.socket))
                    return
                except OSError:
                    time.sleep(0.05)
        raise SystemExit("the daemon did not start")

    def cpu_seconds(self) -> float:
        """User + system CPU the daemon has used so far, all threads."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


async def unix_post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, body: bytes
) -> tuple[int, bytes]:
    """One POST on a keep-alive connection in plain HTTP/1.1: a lean client, so that what is
    measured is the daemon (httpx costs about a millisecond of CPU per request, and the
    benchmark's clients share the machine's 2 cores with the daemon). The status and body."""
    writer.write(
        f"POST {path} HTTP/1.1\r\nhost: memoryd\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    return int(head.split(b" ", 2)[1]), await reader.readexactly(length)


def machine() -> str:
    cpu = "?"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import sqlite3

    return (
        f"nproc {os.cpu_count()}, CPU {cpu}, Python {sys.version.split()[0]}, "
        f"SQLite {sqlite3.sqlite_version}, load average {os.getloadavg()[0]:.1f}"
    )
