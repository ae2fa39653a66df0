"""The coding benchmark's scoring and report: each prompt's row (what the hooks and recall
brought), the shares of needed memories per kind, precision, stale violations, latency, and
the table run.py prints. Used by run.py."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from check_data import KINDS, Prompt
from session import HOOK_DEADLINE_S, SKIPPED, HookResult

RECALL_LIMIT = 10


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
