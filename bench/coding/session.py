"""The coding benchmark's session harness: a fresh real daemon filled with the benchmark's
memories, and the real hook script run as Claude Code runs it (a process, the event JSON on
stdin). Talks to the daemon only over its HTTP API on the Unix socket; imports nothing of
memoryd. Used by run.py and floor.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

from check_data import Memory  # noqa: E402

HOOK = REPO / "hooks" / "memory_hook.py"
HOOK_DEADLINE_S = 0.5  # the hook's own deadline for its exchange with memoryd
_ID = re.compile(r"\(id ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


# ----------------------------------------------------------------------------- daemon


@dataclass
class Daemon:
    client: httpx.Client
    home: Path
    socket: Path
    pid: int
    env: dict[str, str]


def _clean_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEMORY_", "CLAUDE_MEMORY", "DEBUG_CLAUDE", "DISABLE_CLAUDE"))
    }
    env.pop("XDG_RUNTIME_DIR", None)  # it would take precedence over MEMORY_HOME for the socket
    env.pop("CLAUDE_PROJECT_DIR", None)
    return env


@contextmanager
def daemon(
    python: str,
    semantic: str | None,
    log: Path | None,
    embed_model: Path | None = None,
    query_embedding: str | None = None,
) -> Iterator[Daemon]:
    home = Path(tempfile.mkdtemp(prefix="codingbench-", dir="/tmp"))
    sock = home / "run" / "d.sock"
    env = _clean_env()
    env.update(
        MEMORY_HOME=str(home),
        MEMORY_SOCKET=str(sock),
        MEMORY_AUTO_LEARN="0",
        MEMORY_SYNC_DISABLE="1",
    )
    if semantic is not None:
        env["MEMORY_SEMANTIC"] = "1" if semantic == "on" else "0"
    if embed_model is not None:
        env["MEMORY_EMBED_MODEL"] = str(embed_model.resolve())
    if query_embedding is not None:
        env["MEMORY_SEMANTIC_STATIC_QUERY"] = "1" if query_embedding == "static" else "0"
    with log.open("wb") if log else open(os.devnull, "wb") as out:
        # The child keeps its own copy of the descriptor.
        proc = subprocess.Popen(
            [python, "-m", "memoryd", "serve"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    client = httpx.Client(
        transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://memoryd", timeout=60
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"memoryd exited with status {proc.returncode}")
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise TimeoutError("memoryd did not start within 60 s")
            time.sleep(0.05)
        hook_env = _clean_env()
        hook_env.update(MEMORY_SOCKET=str(sock), MEMORY_HOME=str(home))
        yield Daemon(client, home, sock, proc.pid, hook_env)
    finally:
        client.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(home, ignore_errors=True)


def supports_supersedes(d: Daemon) -> bool:
    """Whether POST /api/memories declares a `supersedes` field (unknown fields are ignored,
    so sending it blindly would prove nothing)."""
    spec = d.client.get("/openapi.json").json()
    body = spec["paths"]["/api/memories"]["post"].get("requestBody", {})
    schema = body.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return "supersedes" in schema.get("properties", {})


def store_order(memories: list[Memory]) -> list[Memory]:
    """File order, except that a memory always comes after the one it supersedes (so that the
    newer one is also the more recent for the daemon's recency factor)."""
    by_key = {m.key: m for m in memories}
    done: set[str] = set()
    out: list[Memory] = []

    def visit(m: Memory) -> None:
        if m.key in done:
            return
        done.add(m.key)
        if m.supersedes and m.supersedes in by_key:
            visit(by_key[m.supersedes])
        out.append(m)

    for m in memories:
        visit(m)
    return out


def store(d: Daemon, memories: list[Memory], send_supersedes: bool) -> dict[str, str]:
    """key -> the daemon's id for each memory."""
    ids: dict[str, str] = {}
    for m in store_order(memories):
        body: dict[str, Any] = {
            "content": m.content,
            "category": m.category,
            "tags": list(m.tags),
            "importance": m.importance,
            "project": m.project,
        }
        if send_supersedes and m.supersedes:
            body["supersedes"] = ids[m.supersedes]
        response = d.client.post("/api/memories", json=body)
        response.raise_for_status()
        answer = response.json()
        if "duplicate_of" in answer:
            raise RuntimeError(f"memory {m.key} was merged into {answer['duplicate_of']}")
        ids[m.key] = answer["id"]
    return ids


def settle_semantic(d: Daemon, timeout_s: float = 900) -> dict[str, Any]:
    """Wait, as bench/locomo.py does, until the semantic leg (if on) has embedded everything,
    refitted its projection and swapped in its int8 query model and static query table; its
    final status."""
    deadline = time.monotonic() + timeout_s
    while True:
        status: dict[str, Any] = d.client.get("/api/semantic").json()
        if not status.get("enabled"):
            return status
        settled = status.get("projection_current", True) and "building" not in (
            status.get("query_model"),
            status.get("static_queries"),
        )
        if status.get("pending") == 0 and settled:
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"semantic leg not settled after {timeout_s} s: {status}")
        time.sleep(0.2)


# ----------------------------------------------------------------------------- one prompt


@dataclass
class HookResult:
    ids: list[str]
    seconds: float
    returncode: int
    answered: bool


def run_hook(
    python: str, hook: Path, mode: str, event: dict[str, Any], env: dict[str, str]
) -> HookResult:
    started = time.perf_counter()
    proc = subprocess.run(
        [python, "-S", str(hook), mode],  # as hooks.json and `memory hooks install` run it
        input=json.dumps(event).encode(),
        capture_output=True,
        env=env,
        timeout=30,
        check=False,
    )
    seconds = time.perf_counter() - started
    text = ""
    if proc.stdout.strip():
        text = str(json.loads(proc.stdout)["hookSpecificOutput"]["additionalContext"])
    return HookResult(_ID.findall(text), seconds, proc.returncode, bool(text))


SKIPPED = HookResult([], 0.0, 0, False)  # --no-profile: no SessionStart hook run
