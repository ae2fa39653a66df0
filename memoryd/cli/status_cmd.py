"""`memory stats`, `memory status` and `memory reindex`: what the daemon holds and how it runs."""

from __future__ import annotations

import argparse
import contextlib
import time
from typing import Any

from memory_core.errors import RemoteError
from memoryd.cli.client import DaemonClient
from memoryd.cli.render import Progress, emit
from memoryd.cli.sync_cmd import sync_lines


def cmd_stats(client: DaemonClient, args: argparse.Namespace) -> None:
    def human(d: dict[str, Any]) -> None:
        print(
            f"{d['total']} memories ({d['sensitive']} sensitive), {d['deleted']} deleted, "
            f"database {d['db_bytes'] / 1e6:.1f} MB"
        )
        for key in ("by_category", "by_project", "by_source"):
            if d.get(key):
                print(f"\n{key.removeprefix('by_')}:")
                for name, n in d[key].items():
                    print(f"  {name:<24} {n}")

    emit(args, client.request("GET", "/api/stats"), human)


def cmd_status(client: DaemonClient, args: argparse.Namespace) -> None:
    def human(d: dict[str, Any]) -> None:
        print(f"memoryd {d['version']} (protocol {d['protocol']}), pid {d['pid']}")
        print(f"  mode      {d['mode']}")
        print(f"  socket    {client.socket_path}")
        if d["mode"] == "http":
            # HTTP-only: no local store; `db` is the hub and the count comes from it.
            print(f"  hub       {d['db']} ({d.get('hub') or 'ok'})")
            count = d["memories"] if d["memories"] is not None else "unknown (hub unreachable)"
            print(f"  memories  {count}")
        else:
            print(f"  database  {d['db']}")
            print(f"  memories  {d['memories']}")
            if d.get("integrity"):  # a large file's check after start-up: running, or failed
                print(f"  integrity {d['integrity']}")
        if d.get("learning"):
            print(f"  auto-learn {d['learning']['status']}")
        if d.get("semantic"):
            print(f"  semantic  {semantic_line(d['semantic'])}")
        if d.get("sync"):
            print("\n".join(sync_lines(d["sync"])))

    health = client.request("GET", "/health")
    # auto-learn state: on, off and why, or paused at the daily token cap
    with contextlib.suppress(RemoteError):
        health["learning"] = client.request("GET", "/api/learn/status")
    with contextlib.suppress(RemoteError):
        health["sync"] = client.request("GET", "/api/sync/status")
    with contextlib.suppress(RemoteError):
        health["semantic"] = client.request("GET", "/api/semantic")
    emit(args, health, human)


def semantic_line(state: dict[str, Any]) -> str:
    """`GET /api/semantic` in one line: on with its progress, or off and why."""
    if not state["enabled"]:
        why = state.get("reason") or (  # a daemon from before `reason`
            "MEMORY_SEMANTIC=0" if state.get("installed") else "memoryd[semantic] not installed"
        )
        return f"off ({why}); recall is lexical"
    queries = {"int8": "int8 queries", "building": "int8 query model being built"}
    query_model = queries.get(state.get("query_model", ""), "queries on the packaged model")
    if state.get("query_embedding") == "static":  # memoryd.semantic.static
        query_model += ", static queries for the prompt hook"
    return f"on, {state['indexed']} indexed, {state['pending']} pending, {query_model}"


def cmd_reindex(client: DaemonClient, args: argparse.Namespace) -> None:
    """Embed the whole store again (semantic leg), with a progress bar until it is done."""
    started = client.request("POST", "/api/semantic/reindex")
    total = int(started["pending"])
    progress = Progress(total, "Embedding")
    status = started
    while status["pending"]:
        time.sleep(0.25)
        status = client.request("GET", "/api/semantic")
        progress.advance(max(0, total - int(status["pending"])) - progress.done)
    progress.finish()

    def human(d: dict[str, Any]) -> None:
        print(f"Embedded {d['indexed']} memories with {d['model']}")

    emit(args, status, human)
