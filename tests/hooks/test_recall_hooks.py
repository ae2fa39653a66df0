"""Auto-recall, digest, per-session dedup and compaction survival: hooks as real processes
against a real daemon."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hooks.helpers import (
    for_daemon,
    pre_compact_event,
    prompt_event,
    run_hook,
    session_start_event,
    store,
)
from tests.support import Daemon, running_daemon


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    with running_daemon(MEMORY_AUTO_LEARN="0") as running:
        yield running


@pytest.fixture
def project(tmp_path: Path) -> str:
    repo = tmp_path / "shopfront"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    return str(repo / "src")


def test_prompt_injects_the_relevant_memory_with_id_and_category(
    daemon: Daemon, project: str
) -> None:
    svelte = store(
        daemon,
        "The user prefers Svelte with SvelteKit for new frontend dashboards",
        category="preferences",
        expanded_keywords="javascript framework ui frontend",
    )
    store(daemon, "The staging cluster runs in eu-west-1", category="facts")
    run = run_hook(
        "prompt",
        prompt_event("s-recall", "build me a frontend dashboard for the orders", project),
        for_daemon(daemon),
    )
    assert run.returncode == 0, run.stderr
    out = run.output()
    assert out is not None
    assert out["hookSpecificOutput"]["hookEventName"] == "UserPromptSubmit"
    text = run.context()
    assert "SvelteKit" in text
    assert f"(id {svelte}" in text and "[preferences]" in text
    assert "eu-west-1" not in text


def test_sensitive_memories_are_never_injected(daemon: Daemon, project: str) -> None:
    secret = store(
        daemon,
        "The billing database password is hunter2-billing-db for the invoices service",
        force_sensitive=True,
    )
    plain = store(daemon, "The invoices service is written in Go and owns billing")
    run = run_hook(
        "prompt",
        prompt_event("s-sensitive", "what do we know about the invoices billing service", project),
        for_daemon(daemon),
    )
    text = run.context()
    assert plain in text
    assert secret not in text
    assert "hunter2" not in text and "SENSITIVE" not in text


def test_a_memory_is_injected_once_per_session_unless_it_changed(
    daemon: Daemon, project: str
) -> None:
    memory_id = store(daemon, "Deployments to production happen with ArgoCD from the main branch")
    env = for_daemon(daemon)
    ask = "how do deployments to production work here"
    first = run_hook("prompt", prompt_event("s-dedup", ask, project), env)
    assert memory_id in first.context()
    second = run_hook("prompt", prompt_event("s-dedup", ask, project), env)
    assert memory_id not in second.context()
    other = run_hook("prompt", prompt_event("s-dedup-other", ask, project), env)
    assert memory_id in other.context()
    changed = daemon.client().put(
        f"/api/memories/{memory_id}",
        json={"content": "Deployments to production happen with Flux from the main branch"},
    )
    assert changed.status_code == 200
    third = run_hook("prompt", prompt_event("s-dedup", ask, project), env)
    assert "Flux" in third.context()


def test_trivial_prompts_inject_nothing(daemon: Daemon, project: str) -> None:
    store(daemon, "Thanks notes: the user likes concise answers")
    env = for_daemon(daemon)
    for prompt in ("thanks", "yes do it", "/clear", "ok, go on and do that"):
        run = run_hook("prompt", prompt_event("s-trivial", prompt, project), env)
        assert run.returncode == 0
        assert run.stdout == "", prompt


def test_budget_caps_the_injected_text(daemon: Daemon, project: str) -> None:
    for i in range(6):
        store(daemon, f"Kubernetes note {i}: " + "the kubernetes ingress controller " * 30)
    run = run_hook(
        "prompt",
        prompt_event("s-budget", "kubernetes ingress controller setup", project),
        for_daemon(daemon, MEMORY_HOOK_BUDGET="1200"),
    )
    text = run.context()
    assert "Kubernetes note" in text
    assert len(text.encode()) <= 1200


def test_session_start_digest_prefers_this_projects_preferences_and_decisions(
    daemon: Daemon, project: str
) -> None:
    # Another project's decision and a sensitive preference outweigh this project's decision.
    mine, _, hidden = (
        store(daemon, content, category=category, project=scope, importance=importance)
        for content, category, scope, importance in [
            (
                "Decision: shopfront uses PostgreSQL 16 and never MySQL",
                "decisions",
                "shopfront",
                0.9,
            ),
            ("Decision: the unrelated-app uses MongoDB", "decisions", "unrelated-app", 1.0),
            (
                "Preference: deploy key is ghp_abcdefghijklmnopqrstuvwxyz0123456789AB",
                "preferences",
                "shopfront",
                1.0,
            ),
        ]
    )
    run = run_hook(
        "session-start", session_start_event("s-start", "startup", project), for_daemon(daemon)
    )
    out = run.output()
    assert out is not None and out["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    text = run.context()
    assert mine in text and "project shopfront" in text
    assert "MongoDB" not in text
    assert hidden not in text and "ghp_" not in text
    assert len(text.encode()) <= 8192  # the profile fills at most the hook's default budget


def test_compaction_round_trip(daemon: Daemon, project: str) -> None:
    env = for_daemon(daemon)
    session = "s-compact"
    memory_id = store(
        daemon, "The shopfront checkout uses Stripe payment intents", project="shopfront"
    )
    run_hook("prompt", prompt_event(session, "how does the checkout take payment", project), env)
    saved = run_hook("pre-compact", pre_compact_event(session, project), env)
    assert saved.returncode == 0 and saved.stdout == ""

    after = run_hook("session-start", session_start_event(session, "compact", project), env)
    assert memory_id in after.context()
    assert "compacted" in after.context()
    # One use: the marker is gone, and the next prompt may bring the memory back only
    # through ordinary recall (it was re-injected, so not even that).
    again = run_hook("session-start", session_start_event(session, "compact", project), env)
    assert again.stdout == ""
    prompt = run_hook("prompt", prompt_event(session, "checkout payment again", project), env)
    assert memory_id not in prompt.context()


def test_compaction_marker_is_used_by_the_first_prompt_when_session_start_missed_it(
    daemon: Daemon, project: str
) -> None:
    env = for_daemon(daemon)
    session = "s-compact-prompt"
    memory_id = store(daemon, "The shopfront search uses Meilisearch", project="shopfront")
    run_hook("prompt", prompt_event(session, "how does search work in the shop", project), env)
    run_hook("pre-compact", pre_compact_event(session, project), env)
    first = run_hook("prompt", prompt_event(session, "ok", project), env)
    assert memory_id in first.context() and "compacted" in first.context()
    second = run_hook("prompt", prompt_event(session, "ok", project), env)
    assert second.stdout == ""


def test_tool_use_is_tracked_for_compaction(daemon: Daemon, project: str) -> None:
    env = for_daemon(daemon)
    session = "s-tools"
    memory_id = store(daemon, "Redis is only used as a cache, never as a queue")
    event = {
        "session_id": session,
        "cwd": project,
        "hook_event_name": "PostToolUse",
        "tool_name": "mcp__plugin_memoryd_memory__memory_recall",
        "tool_input": {"context": "redis"},
        # Claude Code passes an MCP tool's structured output as a JSON string.
        "tool_response": json.dumps({"memories": [{"id": memory_id, "content": "Redis..."}]}),
    }
    run = run_hook("tool-used", event, env)
    assert run.returncode == 0 and run.stdout == ""
    # The recalled memory is in context already: recall does not inject it again ...
    prompt = run_hook("prompt", prompt_event(session, "can we use redis as a queue", project), env)
    assert memory_id not in prompt.context()
    # ... and it survives compaction.
    run_hook("pre-compact", pre_compact_event(session, project), env)
    after = run_hook("session-start", session_start_event(session, "compact", project), env)
    assert memory_id in after.context()


def test_a_huge_prompt_still_gets_its_memories(daemon: Daemon, project: str) -> None:
    memory_id = store(daemon, "Grafana dashboards live in the observability repository")
    prompt = "where do the grafana dashboards live? " + "lorem ipsum " * 30_000
    run = run_hook("prompt", prompt_event("s-huge", prompt, project), for_daemon(daemon))
    assert memory_id in run.context()


def test_a_superseded_memory_is_never_injected(daemon: Daemon, project: str) -> None:
    env = for_daemon(daemon)
    old = store(daemon, "Pipelines for the shop run on CircleCI", project="shopfront")
    session = "s-superseded"
    before = run_hook("prompt", prompt_event(session, "where do shop pipelines run", project), env)
    assert old in before.context()
    run_hook("pre-compact", pre_compact_event(session, project), env)
    # The decision changes; the old memory stays for history.
    new = store(
        daemon,
        "The shop moved its builds to GitHub Actions in January",
        project="shopfront",
        supersedes=old,
    )
    after = run_hook("session-start", session_start_event(session, "compact", project), env)
    assert old not in after.context()
    fresh = run_hook(
        "prompt", prompt_event("s-superseded-2", "where do shop pipelines run", project), env
    )
    assert new in fresh.context()  # found through the memory it replaced
    assert old not in fresh.context()
