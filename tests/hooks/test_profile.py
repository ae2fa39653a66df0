"""The SessionStart profile, hooks as real processes against a real daemon: the project's
standing memories and the global ones, ranked by importance, category, use and scope, within
the budget; never a sensitive or superseded memory; and the prompt hook does not repeat it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hooks.helpers import (
    for_daemon,
    hook_event,
    prompt_event,
    run_hook,
    session_start_event,
    store,
)
from tests.support import Daemon, running_daemon


@pytest.fixture
def daemon() -> Iterator[Daemon]:
    # One daemon per test: what a profile holds depends on everything stored.
    with running_daemon(MEMORY_AUTO_LEARN="0", MEMORY_SEMANTIC="0") as running:
        yield running


@dataclass
class Project:
    """A project: its repository (a directory named after it) and its memories."""

    daemon: Daemon
    name: str
    cwd: str

    @classmethod
    def at(cls, tmp_path: Path, daemon: Daemon, name: str) -> Project:
        (tmp_path / name / ".git").mkdir(parents=True)
        return cls(daemon, name, str(tmp_path / name))

    def store(self, content: str, **fields: object) -> str:
        return store(self.daemon, content, project=self.name, **fields)

    def profile(self, session: str = "s-profile", **env: str) -> str:
        """What the SessionStart hook injects at the start of a session in this project."""
        event = session_start_event(session, "startup", self.cwd)
        run = run_hook("session-start", event, for_daemon(self.daemon, **env))
        assert run.returncode == 0, run.stderr
        return run.context()


def test_global_preferences_reach_the_profile_of_a_project_with_many_memories_of_its_own(
    daemon: Daemon, tmp_path: Path
) -> None:
    # Before the profile, the digest held the project's 8 most important preferences and
    # decisions first: with 12 of its own, a global preference never made it.
    shopfront = Project.at(tmp_path, daemon, "shopfront")
    own = [
        shopfront.store(
            f"shopfront decision {n}: component library rule number {n} for the storefront",
            category="decisions",
            importance=0.6,
        )
        for n in range(12)
    ]
    svelte = store(
        daemon,
        "I prefer Svelte (SvelteKit) for all new frontend apps",
        category="preferences",
        importance=0.9,
    )
    text = shopfront.profile()
    assert f"(id {svelte})" in text
    assert all(f"(id {memory_id})" in text for memory_id in own)
    assert "project shopfront" in text
    # Where memories live, said before any of them (issue 18: Claude Code's auto memory).
    assert text.index("memory_store") < text.index("memory_recall") < text.index("Preferences:")
    assert text.index("Preferences:") < text.index("I prefer Svelte") < text.index("Decisions")


def test_the_budget_holds_the_heaviest_memories_first(daemon: Daemon, tmp_path: Path) -> None:
    ledger = Project.at(tmp_path, daemon, "ledger")
    # Equally important: their category and scope decide (test_profile_rank.py).
    rule, fact, elsewhere, plain = (
        store(daemon, content, category=category, project=project, importance=0.8)
        for content, category, project in [
            (
                "Amounts in ledger are int64 minor units; float64 is never used for money",
                "decisions",
                "ledger",
            ),
            ("ledger supports EUR, GBP, CHF, SEK and PLN currencies today", "facts", "ledger"),
            ("Priya owns the lumen search service and reviews its releases", "people", None),
            (
                "Mehdi is the security engineer; new public endpoints need his sign-off",
                "people",
                None,
            ),
        ]
    )
    store(daemon, "ledger deploys need a second approver", project="lumen", importance=1.0)
    full = ledger.profile("s-full")
    assert all(f"(id {m})" in full for m in (rule, fact, elsewhere, plain))
    assert "second approver" not in full  # another project's own memory
    # Room for a few lines: the heaviest (rule > fact > plain > elsewhere, see
    # test_profile_rank.py) first.
    small = ledger.profile("s-small", MEMORY_HOOK_BUDGET="600")
    assert len(small.encode()) <= 600
    assert f"(id {rule})" in small and f"(id {elsewhere})" not in small


def test_a_memory_often_recalled_outranks_an_equal_one(daemon: Daemon, tmp_path: Path) -> None:
    atlas = Project.at(tmp_path, daemon, "atlas")
    # Equal but for their age (the newer first); each too long for two to fit in 512 bytes.
    used = atlas.store(
        "atlas Terraform state lives in the S3 bucket kestrel-tfstate in eu-west-1, with "
        "DynamoDB locking and one state file per environment and per component"
    )
    quiet = atlas.store(
        "atlas runbooks live in docs/runbooks of the repository, one Markdown file per alert, "
        "each linked from the alert's annotations in the Prometheus rules"
    )
    before = atlas.profile("s-before", MEMORY_HOOK_BUDGET="512")
    assert f"(id {quiet})" in before and f"(id {used})" not in before
    for session in ("s-a", "s-b", "s-c"):
        event = hook_event(
            "PostToolUse",
            session,
            atlas.cwd,
            tool_name="mcp__memory__memory_recall",
            tool_input={"context": "terraform state"},
            tool_response=json.dumps({"memories": [{"id": used}]}),
        )
        assert run_hook("tool-used", event, for_daemon(daemon)).returncode == 0
    after = atlas.profile("s-after", MEMORY_HOOK_BUDGET="512")
    assert f"(id {used})" in after and f"(id {quiet})" not in after


def test_never_a_sensitive_or_superseded_memory(daemon: Daemon, tmp_path: Path) -> None:
    courier = Project.at(tmp_path, daemon, "courier")
    secret = courier.store("courier deploy token is ghp_abcdefghijklmnopqrstuvwxyz0123456789AB")
    old = courier.store("courier runs on an EC2 Express app", category="decisions")
    new = courier.store(
        "courier moved to Cloudflare Workers; the EC2 instance is stopped",
        category="decisions",
        supersedes=old,
    )
    text = courier.profile()
    assert f"(id {new})" in text
    assert f"(id {old})" not in text and "EC2 Express" not in text
    assert secret not in text and "ghp_" not in text


def test_the_prompt_hook_adds_what_the_profile_did_not_show(daemon: Daemon, tmp_path: Path) -> None:
    harvest = Project.at(tmp_path, daemon, "harvest")
    cwd = harvest.cwd
    shown = harvest.store(
        "harvest backfills use dagster asset materialize with a partition range",
        category="decisions",
        importance=0.9,
    )
    extra = harvest.store(
        "harvest backfills of the clickstream take about four hours per month of data, so run "
        "them overnight and warn the analytics channel before a backfill of more than a month",
        importance=0.1,
    )
    env = for_daemon(daemon, MEMORY_HOOK_BUDGET="512")  # room for one of them
    start = run_hook("session-start", session_start_event("s-both", "startup", cwd), env)
    assert f"(id {shown})" in start.context() and f"(id {extra})" not in start.context()
    prompt = run_hook("prompt", prompt_event("s-both", "how do harvest backfills work?", cwd), env)
    assert extra in prompt.context()
    assert shown not in prompt.context()  # in the session already
