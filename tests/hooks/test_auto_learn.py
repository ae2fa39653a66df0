"""Auto-learn end to end: the Stop hook as a real process, the daemon's learning queue, and a
local fake Messages API standing in for the model."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.hooks import learning_fixtures
from tests.hooks.fake_anthropic import FakeAnthropic, fake_anthropic
from tests.hooks.helpers import for_daemon, run_hook
from tests.support import Daemon, run_module, running_daemon, wait_until

GITHUB_TOKEN = "ghp_" + "Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8V"
AWS_KEY = "AKIA" + "QWERTYUIOPASDFGH"

# The module-scoped fake model and auto-learning daemon (tests/hooks/learning_fixtures.py).
fake = learning_fixtures.fake
daemon = learning_fixtures.daemon


def lesson(content: str, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "correction",
        "content": content,
        "reason": "the user corrected the assistant",
        "importance": 0.85,
        "keywords": "package manager install dependencies node",
        "action": "new",
        "existing_id": None,
        **fields,
    }


def write_transcript(path: Path, turns: list[tuple[str, str]], append: bool = False) -> None:
    with path.open("a" if append else "w") as handle:
        for role, text in turns:
            content: Any = text if role == "user" else [{"type": "text", "text": text}]
            entry = {"type": role, "message": {"role": role, "content": content}}
            handle.write(json.dumps(entry) + "\n")


def one_user_turn(path: Path, text: str) -> Path:
    """A transcript at `path` holding only the user's `text`: what most tests have Claude judge."""
    write_transcript(path, [("user", text)])
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    repo = tmp_path / "webshop"
    (repo / ".git").mkdir(parents=True)
    return repo


def status(daemon: Daemon) -> dict[str, Any]:
    response = daemon.client().get("/api/learn/status")
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def stop(daemon: Daemon, session: str, transcript: Path, cwd: Path, last: str = "done") -> None:
    """Run the Stop hook and wait until the daemon has judged the transcript."""
    calls = status(daemon)["today"]["calls"]
    event = {
        "session_id": session,
        "transcript_path": str(transcript),
        "cwd": str(cwd),
        "hook_event_name": "Stop",
        "stop_hook_active": False,
        "last_assistant_message": last,
    }
    run = run_hook("stop", event, for_daemon(daemon))
    assert run.returncode == 0 and run.stdout == ""
    wait_until(
        lambda: status(daemon)["pending"] == 0 and status(daemon)["today"]["calls"] > calls,
        15,
        f"the daemon to judge {session}",
    )


def learned(daemon: Daemon) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = daemon.client().get("/api/learn/learned").json()["learned"]
    return entries


def find(daemon: Daemon, text: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (
        daemon.client()
        .post("/api/memories/recall", json={"context": text, "limit": 20})
        .json()["memories"]
    )
    return found


def test_a_correction_becomes_an_auto_learned_memory(
    daemon: Daemon, fake: FakeAnthropic, project: Path, tmp_path: Path
) -> None:
    fake.on_structured = lambda text: {
        "lessons": [lesson("The webshop repository uses pnpm, not npm, for packages")]
        if "pnpm" in text
        else []
    }
    transcript = tmp_path / "t1.jsonl"
    write_transcript(
        transcript,
        [
            ("user", "install the dependencies"),
            ("assistant", "Running npm install now."),
            ("user", "Actually, we use pnpm here, never npm."),
            ("assistant", "Understood, switching to pnpm install."),
        ],
    )
    stop(daemon, "learn-1", transcript, project)
    hits = find(daemon, "pnpm packages")
    assert len(hits) == 1
    memory = hits[0]
    assert memory["content"] == "The webshop repository uses pnpm, not npm, for packages"
    assert memory["source"] == "auto-learn" and "auto-learned" in memory["tags"]
    assert memory["category"] == "preferences" and memory["project"] == "webshop"
    entry = next(e for e in learned(daemon) if e["memory_id"] == memory["id"])
    assert entry["action"] == "stored" and entry["reason"] == "the user corrected the assistant"
    shown = run_module("memoryd.cli.memory_cmd", "learned", env=daemon.env, timeout=30).stdout
    assert "auto-learn on: Anthropic API" in shown
    assert "stored" in shown and "the user corrected the assistant" in shown
    # The judge saw the conversation, framed by the conservative system prompt.
    assert "Actually, we use pnpm here" in fake.bodies()[-1]
    assert "conservative" in fake.bodies()[-1]


def test_a_long_last_message_does_not_stop_learning(
    daemon: Daemon, fake: FakeAnthropic, project: Path, tmp_path: Path
) -> None:
    fake.on_structured = lambda text: {"lessons": []}
    transcript = one_user_turn(
        tmp_path / "long.jsonl", "summarise the incident report for the payments team"
    )
    before = len(fake.requests)
    stop(daemon, "learn-long", transcript, project, last="x" * 400_000)
    assert len(fake.requests) == before + 1


def test_only_new_turns_are_judged(
    daemon: Daemon, fake: FakeAnthropic, project: Path, tmp_path: Path
) -> None:
    fake.on_structured = lambda text: {"lessons": []}
    transcript = one_user_turn(tmp_path / "t2.jsonl", "first question about the cart page layout")
    stop(daemon, "learn-2", transcript, project)
    write_transcript(
        transcript, [("user", "second question about the checkout button colour")], append=True
    )
    stop(daemon, "learn-2", transcript, project)
    last = fake.bodies()[-1]
    assert "checkout button colour" in last and "cart page layout" not in last


def test_a_repeated_fact_is_not_stored_twice(
    daemon: Daemon, fake: FakeAnthropic, project: Path, tmp_path: Path
) -> None:
    content = "The webshop deploys to Fly.io in the ams region"
    fake.on_structured = lambda text: {"lessons": [lesson(content, kind="fact")]}
    for n in range(2):
        transcript = one_user_turn(
            tmp_path / f"t3-{n}.jsonl", "remember we deploy to fly.io, region ams"
        )
        stop(daemon, f"learn-3-{n}", transcript, project)
    # Third time the model itself says it is a duplicate of the memory it was shown.
    first = find(daemon, "fly.io ams region deploys")
    assert [m["content"] for m in first].count(content) == 1

    def duplicate(text: str) -> dict[str, Any]:
        ids = re.findall(r"\[id=([0-9a-f-]{36})\]", text)
        assert first[0]["id"] in ids  # the related memory was offered to the judge
        return {
            "lessons": [
                lesson("We deploy on Fly.io (ams)", action="duplicate", existing_id=first[0]["id"])
            ]
        }

    fake.on_structured = duplicate
    transcript = one_user_turn(tmp_path / "t3-2.jsonl", "again: deploys go to fly.io in ams")
    stop(daemon, "learn-3-2", transcript, project)
    hits = find(daemon, "fly.io ams region deploys")
    assert [m["content"] for m in hits].count(content) == 1
    assert not any("(ams)" in m["content"] for m in hits)
    assert [e["memory_id"] for e in learned(daemon)].count(first[0]["id"]) == 1


def test_a_contradiction_supersedes_the_old_memory_and_can_be_undone(
    daemon: Daemon, fake: FakeAnthropic, project: Path, tmp_path: Path
) -> None:
    old = (
        daemon.client()
        .post(
            "/api/memories",
            json={
                "content": "The webshop caches sessions in Memcached",
                "category": "decisions",
                "project": "webshop",
            },
        )
        .json()["id"]
    )

    def supersede(text: str) -> dict[str, Any]:
        match = re.search(r"\[id=([0-9a-f-]{36})\] \(decisions\) The webshop caches", text)
        assert match, text
        return {
            "lessons": [
                lesson(
                    "The webshop caches sessions in Redis (moved off Memcached)",
                    kind="decision",
                    action="update",
                    existing_id=match.group(1),
                    reason="the user said they replaced Memcached with Redis",
                )
            ]
        }

    fake.on_structured = supersede
    transcript = one_user_turn(
        tmp_path / "t4.jsonl", "we replaced memcached with redis for session caches"
    )
    stop(daemon, "learn-4", transcript, project)
    memory = daemon.client().get(f"/api/memories/{old}").json()
    assert memory["content"] == "The webshop caches sessions in Redis (moved off Memcached)"
    assert "auto-learned" in memory["tags"]
    entry = next(e for e in learned(daemon) if e["memory_id"] == old)
    assert entry["action"] == "updated"
    assert entry["previous_content"] == "The webshop caches sessions in Memcached"
    undo = daemon.client().post(f"/api/learn/learned/{entry['entry']}/undo")
    assert undo.status_code == 200
    restored = daemon.client().get(f"/api/memories/{old}").json()
    assert restored["content"] == "The webshop caches sessions in Memcached"


def test_secrets_never_reach_the_model(
    daemon: Daemon, fake: FakeAnthropic, project: Path, tmp_path: Path
) -> None:
    fake.on_structured = lambda text: {"lessons": []}
    daemon.client().post(
        "/api/memories",
        json={"content": f"CI token for webshop deploys is {GITHUB_TOKEN}", "project": "webshop"},
    )
    transcript = tmp_path / "t5.jsonl"
    write_transcript(
        transcript,
        [
            ("user", f"deploy webshop with token {GITHUB_TOKEN} and key {AWS_KEY}"),
            ("assistant", f"Deploying webshop with {AWS_KEY}."),
        ],
    )
    stop(daemon, "learn-5", transcript, project)
    sent = fake.bodies()[-1]
    assert GITHUB_TOKEN not in sent and AWS_KEY not in sent
    assert "[REDACTED:" in sent
    assert all(GITHUB_TOKEN not in b and AWS_KEY not in b for b in fake.bodies())


def test_a_lesson_carrying_a_secret_is_not_stored(
    daemon: Daemon, fake: FakeAnthropic, project: Path, tmp_path: Path
) -> None:
    fake.on_structured = lambda text: {
        "lessons": [lesson(f"The staging password is password={GITHUB_TOKEN}", kind="fact")]
    }
    transcript = one_user_turn(tmp_path / "t6.jsonl", "note the staging login details")
    before = daemon.client().get("/api/stats").json()["total"]
    stop(daemon, "learn-6", transcript, project)
    assert daemon.client().get("/api/stats").json()["total"] == before


def test_the_daily_token_cap_pauses_learning(project: Path, tmp_path: Path) -> None:
    with (
        fake_anthropic(
            FakeAnthropic(on_structured=lambda t: {"lessons": []}, usage=(90, 20))
        ) as capped,
        running_daemon(**capped.daemon_env(), MEMORY_LEARN_DAILY_TOKENS="100") as daemon,
    ):
        transcript = one_user_turn(tmp_path / "cap.jsonl", "we always write tests with pytest")
        stop(daemon, "cap-1", transcript, project)
        state = status(daemon)
        assert state["today"]["tokens"] == 110 and state["paused"] is True
        assert "MEMORY_LEARN_DAILY_TOKENS=100" in state["status"]
        run_hook(
            "stop",
            {"session_id": "cap-2", "transcript_path": str(transcript), "cwd": str(project)},
            for_daemon(daemon),
        )
        wait_until(lambda: status(daemon)["pending"] == 1, 15, "cap-2 to wait in the queue")
        assert len(capped.requests) == 1  # paused: the second transcript waits for tomorrow
        stats = daemon.client().get("/api/stats").json()
        assert stats["learning"]["paused"] is True


def test_auto_learn_off(project: Path, tmp_path: Path) -> None:
    with (
        fake_anthropic() as unused,
        running_daemon(**unused.daemon_env(), MEMORY_AUTO_LEARN="0") as daemon,
    ):
        transcript = one_user_turn(tmp_path / "off.jsonl", "we always write tests with pytest")
        response = daemon.client().post(
            "/api/hooks/stop",
            json={"session_id": "off", "transcript_path": str(transcript), "cwd": str(project)},
        )
        assert response.status_code == 202 and response.json()["queued"] is False
        state = status(daemon)
        assert state["enabled"] is False and "MEMORY_AUTO_LEARN=0" in state["status"]
        assert unused.requests == []


def test_an_answer_that_does_not_fit_is_reported_without_its_content(
    project: Path, tmp_path: Path
) -> None:
    """A judge's malformed answer quotes what it drew from the conversation: the error that
    reaches the log and the status names the fields at fault, never their values."""
    canary = "Canary7731 the spare key sits behind the boiler"
    odd = {"lessons": [{"content": canary, "kind": "Canary7731", "importance": "high"}]}
    with (
        fake_anthropic(FakeAnthropic(on_structured=lambda t: odd)) as bad,
        running_daemon(
            ANTHROPIC_API_KEY="sk-ant-test-key", ANTHROPIC_BASE_URL=bad.url, MEMORY_AUTO_LEARN="1"
        ) as daemon,
    ):
        transcript = one_user_turn(tmp_path / "odd.jsonl", "where is the spare key again?")
        event = {"session_id": "odd-1", "transcript_path": str(transcript), "cwd": str(project)}
        assert run_hook("stop", event, for_daemon(daemon)).returncode == 0
        wait_until(
            lambda: status(daemon)["last_error"] is not None, 15, "the judge error to be recorded"
        )
        error = status(daemon)["last_error"]
        assert "lessons.0.kind" in error and "Canary7731" not in error
        daemon.signal(signal.SIGTERM)
        assert daemon.proc is not None and daemon.proc.wait(20) == 0
        log = daemon.output()
    assert "auto-learn: judge failed" in log and "Canary7731" not in log


@pytest.mark.parametrize(
    ("kind", "action"),
    [("decision", "supersede"), ("correction", "update")],
    ids=["judged-a-contradiction", "a-correction"],
)
def test_a_contradiction_is_stored_as_the_successor_and_undo_restores_the_old_one(
    daemon: Daemon, fake: FakeAnthropic, project: Path, tmp_path: Path, kind: str, action: str
) -> None:
    client = daemon.client()
    old = client.post(
        "/api/memories",
        json={
            "content": f"The webshop search index runs on Elasticsearch ({kind})",
            "category": "decisions",
            "importance": 0.7,
        },
    ).json()["id"]

    def contradict(text: str) -> dict[str, Any]:
        assert f"[id={old}]" in text  # offered to the judge as related
        new = f"The webshop search index moved from Elasticsearch to Meilisearch ({kind})"
        return {"lessons": [lesson(new, kind=kind, action=action, existing_id=old, importance=0.6)]}

    fake.on_structured = contradict
    transcript = tmp_path / f"t-{kind}.jsonl"
    write_transcript(
        transcript, [("user", "we replaced elasticsearch with meilisearch for search")]
    )
    stop(daemon, f"learn-{kind}", transcript, project)

    # The old memory is kept as it was, and the new one replaces it.
    assert client.get(f"/api/memories/{old}").json()["content"].endswith(f"Elasticsearch ({kind})")
    entry = next(e for e in learned(daemon) if e["previous_content"] and kind in e["content"])
    assert entry["action"] == "superseded" and entry["kind"] == kind
    new = client.get(f"/api/memories/{entry['memory_id']}").json()
    assert new["supersedes"] == old and new["source"] == "auto-learn"
    # In the replaced memory's category and scope (global here), at least as important.
    assert new["category"] == "decisions" and new["project"] is None
    assert new["importance"] == 0.7
    # The module's daemon also holds the other case's pair: compare this case's two only.
    found = [m["id"] for m in find(daemon, f"webshop search index elasticsearch {kind}")]
    assert [i for i in found if i in (new["id"], old)] == [
        new["id"],
        old,
    ]

    undo = client.post(f"/api/learn/learned/{entry['entry']}/undo")
    assert undo.status_code == 200 and undo.json()["undone"] == "deleted the memory"
    assert client.get(f"/api/memories/{new['id']}").status_code == 404
    assert find(daemon, f"webshop search index elasticsearch {kind}")[0]["id"] == old
