"""The curation API behind the viewer's pages, on a real daemon: the hooks' injection journal,
a memory's history, the trash and restore, marking as superseded, the per-day counters, and
bad input (4xx, never 500)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hooks.helpers import hook_event, prompt_event, session_start_event
from tests.remote.conftest import http_only_env
from tests.support import Daemon, HubServer, running_daemon, store

PASSWORD = "ghp_" + "Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8V"  # detected as a secret


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    with running_daemon(MEMORY_AUTO_LEARN="0") as running:
        yield running


@pytest.fixture(scope="module")
def client(daemon: Daemon) -> Iterator[httpx.Client]:
    with daemon.client() as found:
        yield found


@pytest.fixture
def project(tmp_path: Path) -> str:
    repo = tmp_path / "orders"
    (repo / ".git").mkdir(parents=True)
    return str(repo)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_the_journal_says_what_each_hook_injected_and_why(
    client: httpx.Client, project: str
) -> None:
    kept = store(
        client,
        "The orders service uses PostgreSQL 16 with logical replication to the warehouse",
        category="decisions",
        importance=0.9,
        project="orders",
    )
    secret = store(
        client,
        "The orders service replicates postgresql to the warehouse with a sealed token",
        project="orders",
        force_sensitive=True,
    )
    start = client.post(
        "/api/hooks/session-start", json=session_start_event("j-1", "startup", project)
    )
    assert start.status_code == 200
    prompt = "how does the orders service replicate its postgresql data to the warehouse?"
    said = client.post("/api/hooks/prompt", json=prompt_event("j-1", prompt, project))
    assert said.status_code in (200, 204)
    leaky = f"remember that the password is {PASSWORD} for the orders postgresql replication"
    client.post("/api/hooks/prompt", json=prompt_event("j-1", leaky, project))

    sessions = ok(client.get("/api/sessions"))["sessions"]
    mine = next(s for s in sessions if s["session_id"] == "j-1")
    assert mine["project"] == "orders" and mine["injected"] >= 1

    events = ok(client.get("/api/sessions/j-1"))["events"]
    assert [e["hook"] for e in events][:1] == ["start"]
    profile = events[0]["items"]
    assert any(item["id"] == kept and item["outcome"] == "injected" for item in profile)
    prompts = [e for e in events if e["hook"] == "prompt"]
    assert prompts[0]["prompt"] == prompt
    first = {item["id"]: item for item in prompts[0]["items"]}
    # Shown by the profile already: recalled, over the floor, not injected twice.
    assert first[kept]["score"] >= first[kept]["floor"] and first[kept]["lexical"]
    assert first[kept]["outcome"] == "shown before in this session, or no room"
    # A prompt that holds a secret is not kept, and a sensitive memory never appears.
    assert len(prompts) == 2 and prompts[1]["prompt"] is None
    every = [item["id"] for e in events for item in e["items"]]
    assert secret not in every
    raw = client.get("/api/sessions/j-1").text
    assert PASSWORD not in raw and "logical replication" not in raw

    assert client.get("/api/sessions/nobody").status_code == 404


def test_history_says_what_changed_a_memory_and_who(client: httpx.Client) -> None:
    memory_id = store(client, "The release train leaves on Tuesdays")
    assert client.put(f"/api/memories/{memory_id}", json={"importance": 0.8}).status_code == 200
    viewer_edit = client.put(
        f"/api/memories/{memory_id}",
        json={"content": "The release train leaves on Wednesdays"},
        headers={"X-Memory-Origin": "viewer"},
    )
    assert viewer_edit.status_code == 200
    found = ok(client.get(f"/api/memories/{memory_id}/history"))
    versions = found["versions"]
    assert [(v["action"], v["origin"]) for v in versions] == [
        ("changed", "viewer"),
        ("changed", "edit"),
        ("created", "manual"),
    ]
    assert versions[0]["changed"] == ["content"]
    assert versions[0]["fields"]["content"] == "The release train leaves on Wednesdays"
    assert versions[2]["fields"]["content"] == "The release train leaves on Tuesdays"
    assert all(v["replica"] == found["this_replica"] for v in versions)
    assert (
        client.get("/api/memories/0190aaaa-0000-7000-8000-000000000000/history").status_code == 404
    )


def test_a_creation_is_recorded_without_a_copy_until_the_memory_changes(
    client: httpx.Client, daemon: Daemon
) -> None:
    """An import or a pull of many memories must not write each one twice."""
    memory_id = store(client, "The staging cluster is called kestrel")
    [created] = ok(client.get(f"/api/memories/{memory_id}/history"))["versions"]
    assert created["action"] == "created"
    assert created["fields"]["content"] == "The staging cluster is called kestrel"
    with sqlite3.connect(daemon.db) as conn:
        [(snapshot,)] = conn.execute(
            "SELECT snapshot FROM memory_history WHERE memory_id = ?", (memory_id,)
        ).fetchall()
    assert snapshot == "{}"
    assert client.delete(f"/api/memories/{memory_id}").status_code == 200
    with sqlite3.connect(daemon.db) as conn:
        rows = conn.execute(
            "SELECT action, snapshot FROM memory_history WHERE memory_id = ? ORDER BY seq",
            (memory_id,),
        ).fetchall()
    assert [a for a, _ in rows] == ["created", "deleted"]
    assert all("kestrel" in snap for _, snap in rows)  # the delete wrote the creation's fields


def test_a_memory_made_sensitive_keeps_no_earlier_text(
    client: httpx.Client, daemon: Daemon
) -> None:
    memory_id = store(client, "The deploy bot account is deploy-bot on the build farm")
    changed = client.put(
        f"/api/memories/{memory_id}",
        json={"content": f"The deploy bot account is deploy-bot with token {PASSWORD}"},
    )
    assert changed.json()["memory"]["is_sensitive"] is True
    versions = ok(client.get(f"/api/memories/{memory_id}/history"))["versions"]
    assert [v["fields"]["content"] for v in versions] == [None, None]
    with sqlite3.connect(daemon.db) as conn:
        rows = conn.execute(
            "SELECT snapshot FROM memory_history WHERE memory_id = ?", (memory_id,)
        ).fetchall()
    assert rows and not any("build farm" in r[0] or PASSWORD in r[0] for r in rows)


def test_restore_from_the_trash_is_a_new_memory(client: httpx.Client) -> None:
    memory_id = store(client, "Invoices are archived after seven years", tags=["finance"])
    sealed = store(client, f"The archive bucket token is {PASSWORD}")
    for doomed in (memory_id, sealed):
        assert client.delete(f"/api/memories/{doomed}").status_code == 200
    trash = ok(client.get("/api/trash"))["trash"]
    entry = next(t for t in trash if t["memory_id"] == memory_id)
    assert entry["fields"]["content"] == "Invoices are archived after seven years"
    sealed_entry = next(t for t in trash if t["memory_id"] == sealed)
    assert sealed_entry["fields"]["content"] is None  # sealed, not in clear

    restored = ok(client.post(f"/api/trash/{entry['seq']}/restore"))
    new_id = restored["restored"]
    assert new_id != memory_id
    memory = ok(client.get(f"/api/memories/{new_id}"))
    assert memory["content"] == "Invoices are archived after seven years"
    assert memory["tags"] == ["finance"]
    assert client.get(f"/api/memories/{memory_id}").status_code == 404  # the delete stands
    history = ok(client.get(f"/api/memories/{new_id}/history"))["versions"]
    assert [(v["action"], v["origin"]) for v in history] == [("created", "restore")]
    assert client.post(f"/api/trash/{entry['seq']}/restore").status_code == 422
    assert all(t["seq"] != entry["seq"] for t in ok(client.get("/api/trash"))["trash"])

    back = ok(client.post(f"/api/trash/{sealed_entry['seq']}/restore"))["restored"]
    assert ok(client.post(f"/api/memories/{back}/secret"))["content"].endswith(PASSWORD)


def test_mark_as_superseded(client: httpx.Client) -> None:
    older = store(client, "CI runs on Jenkins")
    newer = store(client, "CI runs on GitHub Actions since March")
    marked = ok(client.post(f"/api/memories/{older}/superseded-by", json={"by": newer}))
    assert marked["memory"]["supersedes"] == older
    assert ok(client.get(f"/api/memories/{older}/history"))["superseded_by"] == newer
    same = client.post(f"/api/memories/{older}/superseded-by", json={"by": older})
    assert same.status_code == 422


def test_daily_counters(client: httpx.Client) -> None:
    for _ in range(3):
        client.post("/api/memories/recall", json={"context": "release train"})
    today = ok(client.get("/api/stats/daily?days=7"))["days"][-1]
    assert today["recall"] >= 3
    assert today["recall_ms"]["p95"] is not None


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/sessions?limit=abc", None),
        ("GET", "/api/sessions?limit=0", None),
        ("GET", "/api/trash?limit=99999999", None),
        ("POST", "/api/trash/abc/restore", None),
        ("POST", "/api/trash/999999/restore", None),
        ("POST", "/api/memories/nope-nope/superseded-by", {"by": "x"}),
        ("POST", "/api/memories/nope-nope/superseded-by", {"by": "abcd", "extra": 1}),
        ("PUT", "/api/learn/paused", {"project": "", "paused": True}),
        ("PUT", "/api/learn/paused", {"project": "a\x00b", "paused": True}),
        ("GET", "/api/stats/daily?days=400", None),
    ],
)
def test_bad_input_is_a_4xx(
    client: httpx.Client, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = client.request(method, path, json=body)
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()["error"]) >= {"code", "message"}


def test_the_learn_pause_is_kept(client: httpx.Client, project: str) -> None:
    assert ok(client.put("/api/learn/paused", json={"project": "orders", "paused": True}))
    assert "orders" in ok(client.get("/api/learn/paused"))["paused"]
    stop = hook_event("Stop", "p-1", project, stop_hook_active=False)
    answer = client.post("/api/hooks/stop", json=stop)
    assert answer.json()["queued"] is False
    ok(client.put("/api/learn/paused", json={"project": "orders", "paused": False}))
    assert ok(client.get("/api/learn/paused"))["paused"] == {}


def test_http_only_mode_has_no_curation_data_but_serves_the_viewer(hub_server: HubServer) -> None:
    with running_daemon(**http_only_env(hub_server.url)) as http_daemon, http_daemon.client() as c:
        for path in ("/api/sessions", "/api/trash", "/api/learn/paused", "/api/stats/daily"):
            answer = c.get(path)
            assert answer.status_code == 503, path
            assert answer.json()["error"]["code"]
        assert c.post("/api/viewer", json={}).status_code == 200


def test_the_recovery_after_a_compaction_is_journaled(client: httpx.Client, project: str) -> None:
    memory_id = store(client, "The orders queue is drained by the ledger worker every minute")
    prompt = "how often does the ledger worker drain the orders queue?"
    assert (
        client.post("/api/hooks/prompt", json=prompt_event("j-2", prompt, project)).status_code
        == 200
    )
    saved = client.post("/api/hooks/pre-compact", json=hook_event("PreCompact", "j-2", project))
    assert saved.status_code == 200
    back = client.post(
        "/api/hooks/session-start", json=session_start_event("j-2", "compact", project)
    )
    assert back.status_code == 200
    events = ok(client.get("/api/sessions/j-2"))["events"]
    assert [e["hook"] for e in events] == ["prompt", "recovery"]
    assert {"id": memory_id, "outcome": "injected"} in events[1]["items"]
