"""LoCoMo for bench/locomo.py: the data set read into conversations, turns and questions with their
evidence, and the daemon each pass runs against (a real `memoryd serve` on its socket), with
its CPU and RSS. The data (CC BY-NC 4.0) is read from ../shared/data/locomo10.json; never
copy it here."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the tests' helpers (tests/support.py)
DEFAULT_DATA = REPO.parent / "shared" / "data" / "locomo10.json"
DEV = ("conv-26", "conv-30")
CATEGORIES = (1, 2, 3, 4, 5)
_EVIDENCE = re.compile(r"D:?(\d+):(\d+)")


# ----------------------------------------------------------------------------- data


@dataclass
class Turn:
    dia_id: str
    content: str
    created_at: str


@dataclass
class Question:
    text: str
    category: int
    evidence: list[str]


@dataclass
class Conversation:
    sample_id: str
    turns: list[Turn]
    questions: list[Question]


def _session_time(raw: str) -> str:
    """'1:56 pm on 8 May, 2023' -> ISO-8601 UTC."""
    parsed = datetime.strptime(raw.strip(), "%I:%M %p on %d %B, %Y")
    return parsed.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def turn_text(turn: dict[str, Any]) -> str:
    text = f"{turn['speaker']}: {turn['text']}"
    if turn.get("blip_caption"):
        text += f" [shared an image: {turn['blip_caption']}]"
    return text


def normalise_evidence(raw: list[str], known: set[str]) -> list[str]:
    """'D8:6; D9:17', 'D:11:26', 'D30:05' ... -> canonical ids of turns that exist."""
    out: list[str] = []
    for item in raw:
        for session, index in _EVIDENCE.findall(item):
            dia_id = f"D{int(session)}:{int(index)}"
            if dia_id in known and dia_id not in out:
                out.append(dia_id)
    return out


def load(path: Path) -> list[Conversation]:
    conversations = []
    for sample in json.loads(path.read_text()):
        conv = sample["conversation"]
        turns: list[Turn] = []
        n = 1
        while f"session_{n}" in conv:
            created = _session_time(conv[f"session_{n}_date_time"])
            for turn in conv[f"session_{n}"]:
                turns.append(Turn(turn["dia_id"], turn_text(turn), created))
            n += 1
        known = {t.dia_id for t in turns}
        questions = []
        for qa in sample["qa"]:
            evidence = normalise_evidence(qa.get("evidence", []), known)
            if evidence:  # 4 questions have none: unscorable
                questions.append(Question(qa["question"], int(qa["category"]), evidence))
        conversations.append(Conversation(sample["sample_id"], turns, questions))
    return conversations


def filler(conversations: list[Conversation], count: int, seed: int = 8) -> list[str]:
    """Distinct distractor memories made by joining two random turns (for latency at scale)."""
    rng = random.Random(seed)
    texts = [t.content for c in conversations for t in c.turns]
    return [f"{rng.choice(texts)} / {rng.choice(texts)} #{i}" for i in range(count)]


# ----------------------------------------------------------------------------- daemon


@dataclass
class Target:
    """Where memories go and questions are asked: a daemon over its socket, or the hub."""

    client: httpx.AsyncClient
    pid: int | None = None  # the daemon's, for its RSS


@asynccontextmanager
async def daemon(extra_env: dict[str, str]) -> AsyncIterator[Target]:
    from tests.support import daemon_env, short_tmpdir, terminate, wait_for_socket

    home = short_tmpdir("lcm")
    env = daemon_env(home, MEMORY_MAX_CONTENT_CHARS="4000", MEMORY_SYNC_DISABLE="1", **extra_env)
    sock = Path(env["MEMORY_SOCKET"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "memoryd", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(uds=str(sock)), base_url="http://memoryd", timeout=600
    )
    try:
        wait_for_socket(sock, proc, timeout=60)
        yield Target(client, proc.pid)
    finally:
        await client.aclose()
        terminate(proc, 30)
        shutil.rmtree(home, ignore_errors=True)


def cpu_s(pid: int | None) -> float:
    """User + system CPU seconds the process has used (robust to a busy machine, unlike
    wall-clock latency)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


Opener = Callable[[], AbstractAsyncContextManager[Target]]


@asynccontextmanager
async def hub_stores() -> AsyncIterator[Opener]:
    """The hub (memory_hub) in process over httpx's ASGI transport, on a throwaway PostgreSQL
    cluster (tests/pg.py). Each store is a fresh user, since hub recall is scoped per user."""
    from memory_hub.app import create_app
    from memory_hub.config import HubSettings
    from tests.pg import create_database, pg_cluster

    keys = {f"user{i:02d}": f"locomo-bench-key-{i:04d}-xyz" for i in range(16)}
    users = iter(keys)
    with pg_cluster() as cluster:
        dsn = await create_database(cluster, "locomo")
        app = create_app(HubSettings(database_url=dsn, keys=keys, max_content_chars=4000))
        async with app.router.lifespan_context(app):

            @asynccontextmanager
            async def open_store() -> AsyncIterator[Target]:
                client = httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url="http://hub",
                    headers={"Authorization": f"Bearer {keys[next(users)]}"},
                    timeout=600,
                )
                try:
                    yield Target(client)
                finally:
                    await client.aclose()

            yield open_store
