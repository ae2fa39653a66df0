"""The per-project learn pause: with auto-learn judging (the fake model), what a paused
project's sessions say is never judged, not even after the project is resumed; other projects
still learn; and `memory learn-pause` sets and lists the switch."""

from __future__ import annotations

from pathlib import Path

from tests.hooks import learning_fixtures
from tests.hooks.fake_anthropic import FakeAnthropic
from tests.hooks.helpers import hook_event
from tests.hooks.test_auto_learn import status, write_transcript
from tests.support import Daemon, run_module, wait_until

fake = learning_fixtures.fake
daemon = learning_fixtures.daemon


def stop_queues(daemon: Daemon, session: str, transcript: Path, cwd: Path) -> bool:
    """The Stop hook's answer (queued for learning?), once the worker has read the transcript."""
    event = hook_event("Stop", session, str(cwd), stop_hook_active=False)
    event["transcript_path"] = str(transcript)
    answer = daemon.client().post("/api/hooks/stop", json=event)
    assert answer.status_code == 202, answer.text
    wait_until(lambda: status(daemon)["pending"] == 0, 15, f"the worker to read {session}")
    queued: bool = answer.json()["queued"]
    return queued


def judged(fake: FakeAnthropic) -> str:
    return "\n".join(fake.bodies())


def test_a_paused_project_is_not_learned_from(
    daemon: Daemon, fake: FakeAnthropic, tmp_path: Path
) -> None:
    shop, blog = tmp_path / "shop", tmp_path / "blog"
    for repo in (shop, blog):
        (repo / ".git").mkdir(parents=True)
    transcript = tmp_path / "shop.jsonl"
    turns: list[tuple[str, str]] = [("user", "the shop uses the kestrel payment gateway")]
    write_transcript(transcript, turns)
    assert stop_queues(daemon, "pause-1", transcript, shop)
    assert "kestrel" in judged(fake)

    env = daemon.env
    paused = run_module("memoryd.cli.memory_cmd", "learn-pause", "shop", env=env)
    assert paused.returncode == 0, paused.stderr
    assert "paused for project shop" in paused.stdout
    write_transcript(transcript, [("user", "my private heron notes go here")], append=True)
    assert not stop_queues(daemon, "pause-1", transcript, shop)
    other = tmp_path / "blog.jsonl"
    write_transcript(other, [("user", "the blog is built with the osprey generator")])
    assert stop_queues(daemon, "pause-2", other, blog)  # only that project is paused
    assert "osprey" in judged(fake) and "heron" not in judged(fake)
    listed = run_module("memoryd.cli.memory_cmd", "learn-pause", "--list", env=env)
    assert listed.stdout.startswith("shop  paused since")

    resumed = run_module("memoryd.cli.memory_cmd", "learn-pause", "--resume", "shop", env=env)
    assert "resumed for project shop" in resumed.stdout
    write_transcript(transcript, [("user", "the shop ships with the plover courier")], append=True)
    assert stop_queues(daemon, "pause-1", transcript, shop)
    # After the resume, the new turn is judged; what was said while paused never is.
    assert "plover" in judged(fake) and "heron" not in judged(fake)
