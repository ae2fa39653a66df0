"""The coding-memory benchmark: what a Claude Code session of a developer gets from memoryd.

A fresh real daemon (`python -m memoryd serve` on a temporary MEMORY_HOME and socket) is filled
with memories.jsonl through POST /api/memories, each with its project. Then, for each prompt of
the chosen split, a fresh session in a directory named after the prompt's project runs the real
hook script (hooks/memory_hook.py, as Claude Code runs it: a process, the event JSON on stdin)
for SessionStart (`startup`: the digest) and then UserPromptSubmit (the prompt's recall), and
the memory ids in their additionalContext are read. Separately, POST /api/memories/recall asks
with the prompt as `context` (and the session's project, as the MCP shim does; limit 10).

Reported per kind and overall (see README.md for the definitions): the share of needed memories
that the digest, the prompt hook, both together, and recall's top 10 (and top 5) bring; the
precision of what the hooks inject; how many memories the hooks inject on kind `none`; stale
violations; hook and recall latency.

    python bench/coding/run.py --split dev                   # semantic leg as installed
    python bench/coding/run.py --split dev --semantic off    # MEMORY_SEMANTIC=0
    python bench/coding/run.py --split test --semantic on --json /tmp/coding-test.json

Talks to the daemon only over its HTTP API on the Unix socket; imports nothing of memoryd.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

from check_data import Prompt, load  # noqa: E402
from report import LEGEND, RECALL_LIMIT, Row, summarise, table  # noqa: E402
from session import (  # noqa: E402
    HOOK,
    SKIPPED,
    Daemon,
    daemon,
    run_hook,
    settle_semantic,
    store,
    supports_supersedes,
)


def ask(
    d: Daemon,
    python: str,
    hook: Path,
    p: Prompt,
    ids: dict[str, str],
    root: Path,
    profile: bool = True,
) -> Row:
    cwd = root / p.project
    cwd.mkdir(parents=True, exist_ok=True)
    session = f"coding-{p.key}-{uuid.uuid4().hex[:12]}"
    transcript = f"/tmp/{session}.jsonl"
    start_event = {
        "session_id": session,
        "transcript_path": transcript,
        "cwd": str(cwd),
        "hook_event_name": "SessionStart",
        "source": "startup",
    }
    prompt_event = {
        "session_id": session,
        "transcript_path": transcript,
        "cwd": str(cwd),
        "permission_mode": "default",
        "hook_event_name": "UserPromptSubmit",
        "prompt": p.text,
    }
    digest = run_hook(python, hook, "session-start", start_event, d.env) if profile else SKIPPED
    injected = run_hook(python, hook, "prompt", prompt_event, d.env)
    started = time.perf_counter()
    response = d.client.post(
        "/api/memories/recall",
        json={"context": p.text, "project": p.project, "limit": RECALL_LIMIT},
    )
    recall_s = time.perf_counter() - started
    response.raise_for_status()
    recalled = [m["id"] for m in response.json()["memories"]]
    expanded: list[str] = []
    if p.expansion:
        response = d.client.post(
            "/api/memories/recall",
            json={
                "context": p.text,
                "expanded_query": p.expansion,
                "project": p.project,
                "limit": RECALL_LIMIT,
            },
        )
        response.raise_for_status()
        expanded = [m["id"] for m in response.json()["memories"]]
    return Row(p, [ids[k] for k in p.needs], digest, injected, recalled, recall_s, expanded)


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("dev", "test", "all"), default="dev")
    parser.add_argument(
        "--semantic",
        choices=("on", "off"),
        default=None,
        help="MEMORY_SEMANTIC=1/0 for the daemon (default: whatever the install gives)",
    )
    parser.add_argument("--json", type=Path, help="write the summary and every prompt's rows")
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter for memoryd and the hook"
    )
    parser.add_argument("--hook", type=Path, default=HOOK, help="the hook script to run")
    parser.add_argument("--daemon-log", type=Path, help="keep the daemon's output in this file")
    parser.add_argument("--limit", type=int, default=0, help="only the first N prompts")
    parser.add_argument(
        "--embed-model", type=Path, help="MEMORY_EMBED_MODEL: a sentence-transformers ONNX dir"
    )
    parser.add_argument(
        "--query-embedding",
        choices=("static", "model"),
        help="MEMORY_SEMANTIC_STATIC_QUERY=1/0: static query table once ready, or the model "
        "(default: the daemon's own, static)",
    )
    parser.add_argument(
        "--budget", type=int, help="MEMORY_HOOK_BUDGET for the hooks (default: the hook's own)"
    )
    parser.add_argument(
        "--no-profile",
        action="store_true",
        help="skip the SessionStart hook: the prompt hook alone, as in a session whose profile "
        "could not hold what the prompt needs (a store much larger than this one)",
    )
    args = parser.parse_args(argv)

    memories, prompts, problems = load()
    if problems:
        parser.error(f"bad data: {problems[:3]}")
    chosen = [p for p in prompts if args.split == "all" or p.split == args.split]
    if args.limit:
        chosen = chosen[: args.limit]
    load_before = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    report: dict[str, Any] = {
        "split": args.split,
        "semantic_requested": args.semantic or "install default",
        "embed_model": str(args.embed_model) if args.embed_model else None,
        "query_embedding": args.query_embedding or "daemon default",
        "hook_budget": args.budget,
        "profile": not args.no_profile,
        "prompts": len(chosen),
        "memories": len(memories),
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg_before": load_before,
        },
    }
    with daemon(
        args.python, args.semantic, args.daemon_log, args.embed_model, args.query_embedding
    ) as d:
        report["daemon"] = {
            k: v for k, v in d.client.get("/health").json().items() if k in ("version", "mode")
        }
        native = supports_supersedes(d)
        report["supersedes"] = (
            "sent as a field"
            if native
            else "not in the API: the newer memory is stored after the older one, nothing else"
        )
        t0 = time.perf_counter()
        ids = store(d, memories, native)
        report["store_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        report["semantic"] = settle_semantic(d)
        report["settle_s"] = round(time.perf_counter() - t0, 2)
        print(
            f"stored {len(ids)} memories in {report['store_s']} s; semantic leg: "
            f"{'on' if report['semantic'].get('enabled') else 'off'} "
            f"(settled in {report['settle_s']} s); supersedes: {report['supersedes']}",
            flush=True,
        )
        root = d.home / "projects"
        if args.budget is not None:
            d.env["MEMORY_HOOK_BUDGET"] = str(args.budget)
        rows = [ask(d, args.python, args.hook, p, ids, root, not args.no_profile) for p in chosen]
    key_of = {v: k for k, v in ids.items()}
    old_of = {ids[m.key]: ids[m.supersedes] for m in memories if m.supersedes}
    summary = summarise(rows, old_of)
    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    report["machine"]["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    report["summary"] = summary
    report["rows"] = [
        {
            "key": r.prompt.key,
            "kind": r.prompt.kind,
            "project": r.prompt.project,
            "needs": list(r.prompt.needs),
            "digest": [key_of.get(i, i) for i in r.digest.ids],
            "hook": [key_of.get(i, i) for i in r.hook.ids],
            "recall": [key_of.get(i, i) for i in r.recalled],
            "ms": {
                "session_start_hook": round(r.digest.seconds * 1000, 1),
                "prompt_hook": round(r.hook.seconds * 1000, 1),
                "recall": round(r.recall_s * 1000, 1),
            },
        }
        for r in rows
    ]
    mode = "on" if report["semantic"].get("enabled") else "off"
    setup = f"semantic {mode}"
    if args.budget is not None:
        setup += f", MEMORY_HOOK_BUDGET={args.budget}"
    if args.no_profile:
        setup += ", no SessionStart profile"
    print(f"\ncoding-memory bench, {args.split} split, {len(chosen)} prompts, {setup}")
    print(table(summary))
    print(LEGEND)
    print(
        f"{report['elapsed_s']} s in all; nproc {os.cpu_count()}, python "
        f"{platform.python_version()}, load {load_before} -> {report['machine']['load_avg_after']}"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
