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
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

from check_data import KINDS, Memory, Prompt, load  # noqa: E402

HOOK = REPO / "hooks" / "memory_hook.py"
RECALL_LIMIT = 10
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
    python: str, semantic: str | None, log: Path | None, embed_model: Path | None = None
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
    refitted its projection and swapped in its int8 query model; its final status."""
    deadline = time.monotonic() + timeout_s
    while True:
        status: dict[str, Any] = d.client.get("/api/semantic").json()
        if not status.get("enabled"):
            return status
        settled = status.get("projection_current", True) and (
            status.get("query_model") != "building"
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


@dataclass
class Row:
    prompt: Prompt
    needed: list[str]  # ids
    digest: HookResult
    hook: HookResult
    recalled: list[str]  # ids, best first
    recall_s: float
    # The same recall with the prompt's `expansion` as `expanded_query` (what a model calling
    # memory_recall would add from the prompt alone); empty when the prompt has none.
    expanded: list[str] = field(default_factory=list)


SKIPPED = HookResult([], 0.0, 0, False)  # --no-profile: no SessionStart hook run


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


# ----------------------------------------------------------------------------- scoring


def _share(needed: list[str], got: set[str]) -> float:
    return sum(1 for n in needed if n in got) / len(needed)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 3) if values else None


@dataclass
class Group:
    rows: list[Row] = field(default_factory=list)

    def summary(self, successor_of: dict[str, str]) -> dict[str, Any]:
        rows = self.rows
        scored = [r for r in rows if r.needed]
        out: dict[str, Any] = {"n": len(rows)}
        for name, got in (
            ("hit_digest", lambda r: set(r.digest.ids)),
            ("hit_hook", lambda r: set(r.hook.ids)),
            ("hit_digest_hook", lambda r: set(r.digest.ids) | set(r.hook.ids)),
            ("hit_recall5", lambda r: set(r.recalled[:5])),
            ("hit_recall10", lambda r: set(r.recalled[:RECALL_LIMIT])),
            ("hit_expanded10", lambda r: set(r.expanded[:RECALL_LIMIT])),
        ):
            out[name] = _mean([_share(r.needed, got(r)) for r in scored])
        out["all_needed_digest_hook"] = _mean(
            [float(_share(r.needed, set(r.digest.ids) | set(r.hook.ids)) == 1) for r in scored]
        )
        # Precision: of everything injected on prompts that need something, the share needed.
        for name, got in (
            ("precision_hook", lambda r: set(r.hook.ids)),
            ("precision_digest_hook", lambda r: set(r.digest.ids) | set(r.hook.ids)),
        ):
            injected = sum(len(got(r)) for r in scored)
            relevant = sum(len(got(r) & set(r.needed)) for r in scored)
            out[name] = round(relevant / injected, 3) if injected else None
        out["mean_injected_hook"] = _mean([len(r.hook.ids) for r in rows])
        out["mean_injected_digest"] = _mean([len(r.digest.ids) for r in rows])
        out["mean_injected_digest_hook"] = _mean(
            [len(set(r.digest.ids) | set(r.hook.ids)) for r in rows]
        )
        out["hook_answered"] = sum(1 for r in rows if r.hook.answered)
        out.update(stale_violations(rows, successor_of))
        return out


def stale_violations(rows: list[Row], old_of: dict[str, str]) -> dict[str, int]:
    """For each needed memory that superseded an older one (`old_of`: new id -> old id):
    recall: the old one is in the top 10 above the new one (or the new one is not there);
    inject: the old one is injected (digest or prompt hook) and the new one is not.
    `old_injected` counts the old one injected at all, even next to the new one."""
    checks = recall_bad = inject_bad = old_injected = 0
    for r in rows:
        injected = set(r.digest.ids) | set(r.hook.ids)
        ranked = r.recalled[:RECALL_LIMIT]
        for new in r.needed:
            old = old_of.get(new)
            if old is None:
                continue
            checks += 1
            if old in ranked and (new not in ranked or ranked.index(old) < ranked.index(new)):
                recall_bad += 1
            if old in injected:
                old_injected += 1
                if new not in injected:
                    inject_bad += 1
    return {
        "stale_checks": checks,
        "stale_recall_violations": recall_bad,
        "stale_inject_violations": inject_bad,
        "stale_old_injected": old_injected,
    }


def latency(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ms = [v * 1000 for v in values]
    return {
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(_percentile(ms, 0.95), 1),
        "max_ms": round(max(ms), 1),
    }


def summarise(rows: list[Row], old_of: dict[str, str]) -> dict[str, Any]:
    groups: dict[str, Group] = {k: Group() for k in KINDS}
    for r in rows:
        groups[r.prompt.kind].rows.append(r)
    out: dict[str, Any] = {k: g.summary(old_of) for k, g in groups.items() if g.rows}
    out["all"] = Group(rows).summary(old_of)
    out["all_but_none"] = Group([r for r in rows if r.needed]).summary(old_of)
    hooks = [r.digest for r in rows if r.digest is not SKIPPED] + [r.hook for r in rows]
    out["latency"] = {
        "session_start_hook": latency([r.digest.seconds for r in rows if r.digest is not SKIPPED]),
        "prompt_hook": latency([r.hook.seconds for r in rows]),
        "recall": latency([r.recall_s for r in rows]),
        "hook_nonzero_exits": sum(1 for h in hooks if h.returncode != 0),
        # The hook gives up after 0.5 s and prints nothing: a silent miss for the user.
        "hook_probable_timeouts": sum(
            1 for h in hooks if not h.answered and h.seconds >= HOOK_DEADLINE_S
        ),
    }
    return out


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(summary: dict[str, Any]) -> str:
    head = (
        f"{'kind':<12} {'n':>3} {'dig':>5} {'hook':>5} {'d+h':>5} {'all':>5} {'r@5':>5} "
        f"{'r@10':>5} {'x@10':>5} {'P.hk':>5} {'P.d+h':>5} {'inj.h':>5} {'inj.dh':>6} "
        f"{'stale r/i/o':>12}"
    )
    lines = [head, "-" * len(head)]
    for name in [*KINDS, "all_but_none", "all"]:
        g = summary.get(name)
        if g is None:
            continue
        stale = (
            f"{g['stale_recall_violations']}/{g['stale_inject_violations']}/"
            f"{g['stale_old_injected']} of {g['stale_checks']}"
            if g["stale_checks"]
            else "-"
        )
        lines.append(
            f"{name:<12} {g['n']:>3} {_pct(g['hit_digest']):>5} {_pct(g['hit_hook']):>5} "
            f"{_pct(g['hit_digest_hook']):>5} {_pct(g['all_needed_digest_hook']):>5} "
            f"{_pct(g['hit_recall5']):>5} {_pct(g['hit_recall10']):>5} "
            f"{_pct(g['hit_expanded10']):>5} "
            f"{_pct(g['precision_hook']):>5} {_pct(g['precision_digest_hook']):>5} "
            f"{_num(g['mean_injected_hook']):>5} {_num(g['mean_injected_digest_hook']):>6} "
            f"{stale:>12}"
        )
    lat = summary["latency"]
    lines.append("")
    for name in ("session_start_hook", "prompt_hook", "recall"):
        x = lat[name]
        if not x:
            continue
        lines.append(
            f"{name + ' latency':<28} p50 {x['p50_ms']:>6.1f} ms  p95 {x['p95_ms']:>6.1f} ms  "
            f"max {x['max_ms']:>6.1f} ms"
        )
    lines.append(
        f"hook processes with a non-zero exit: {lat['hook_nonzero_exits']}; "
        f"silent after >= {HOOK_DEADLINE_S} s (probable timeouts): {lat['hook_probable_timeouts']}"
    )
    return "\n".join(lines)


LEGEND = """\
dig/hook/d+h: share of needed memories injected by the SessionStart digest / the prompt hook /
either; all: share of prompts with every needed memory injected (d+h); r@5, r@10: share of
needed memories in recall's top 5 / 10; x@10: the same for the top 10 with the prompt's
`expansion` (prompts.jsonl: written from the prompt alone) as `expanded_query`; P.hk, P.d+h:
precision of what the prompt hook / both injected, over prompts that need something; inj.h,
inj.dh: mean memories injected per prompt; stale r/i/o: of the checks made (needed memories
that superseded another), how often the old one was in recall's top 10 above the new one (or
without it) / was injected while the new one was not / was injected at all."""


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
    with daemon(args.python, args.semantic, args.daemon_log, args.embed_model) as d:
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
