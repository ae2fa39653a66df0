"""The per-project learn pause: with auto-learn judging (the fake model), the Stop hook of a
paused project's session queues nothing, other projects' still do, and `memory learn-pause`
sets and lists the switch."""

from __future__ import annotations

from pathlib import Path

from tests.hooks import learning_fixtures
from tests.hooks.helpers import hook_event
from tests.support import Daemon, run_module

fake = learning_fixtures.fake
daemon = learning_fixtures.daemon


def stop_queues(daemon: Daemon, session: str, cwd: Path) -> bool:
    transcript = cwd / f"{session}.jsonl"
    transcript.write_text("")
    event = hook_event("Stop", session, str(cwd), stop_hook_active=False)
    event["transcript_path"] = str(transcript)
    answer = daemon.client().post("/api/hooks/stop", json=event)
    assert answer.status_code == 202, answer.text
    queued: bool = answer.json()["queued"]
    return queued


def test_a_paused_project_is_not_learned_from(daemon: Daemon, tmp_path: Path) -> None:
    shop, blog = tmp_path / "shop", tmp_path / "blog"
    for repo in (shop, blog):
        (repo / ".git").mkdir(parents=True)
    assert stop_queues(daemon, "pause-1", shop)

    env = daemon.env
    paused = run_module("memoryd.cli.memory_cmd", "learn-pause", "shop", env=env)
    assert paused.returncode == 0, paused.stderr
    assert "paused for project shop" in paused.stdout
    assert not stop_queues(daemon, "pause-2", shop)
    assert stop_queues(daemon, "pause-3", blog)  # only that project
    listed = run_module("memoryd.cli.memory_cmd", "learn-pause", "--list", env=env)
    assert listed.stdout.startswith("shop  paused since")

    resumed = run_module("memoryd.cli.memory_cmd", "learn-pause", "--resume", "shop", env=env)
    assert "resumed for project shop" in resumed.stdout
    assert stop_queues(daemon, "pause-4", shop)
