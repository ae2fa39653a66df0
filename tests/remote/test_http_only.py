"""HTTP-only mode end to end: a real `memoryd serve` (MEMORY_API_KEY + MEMORY_SYNC_DISABLE=1)
forwarding to a real `memory-hub serve` on real PostgreSQL. What the daemon acknowledges is on
the hub (checked through the hub's own API), and nothing is kept on this machine."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import memory as cli
from tests.cli.test_cli import original_db_with_bad_rows
from tests.hubs import KEYS
from tests.remote.conftest import http_only_env
from tests.support import Daemon, HubServer, free_port, run_module, running_daemon, short_tmpdir

SECRET = "my db password is hunter2-Xq9-secret-zz"


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_reads_and_writes_land_on_the_hub_and_nothing_is_kept_locally(
    hub_server: HubServer, http_daemon: Daemon
) -> None:
    client = http_daemon.client()
    hub = hub_server.client(KEYS["alice"])

    stored = client.post(
        "/api/memories",
        json={
            "content": "I prefer Svelte for new frontend apps",
            "category": "preferences",
            "tags": "frontend,ui",
            "project": "dash",
        },
    )
    assert stored.status_code == 201, stored.text
    memory_id = stored.json()["id"]
    assert stored.json()["category"] == "preferences"
    on_hub = hub.get(f"/api/memories/{memory_id}").json()
    assert on_hub["content"] == "I prefer Svelte for new frontend apps"
    # The hub answers in the original's shape: tags as its comma-joined text.
    assert on_hub["tags"] == "frontend,ui" and on_hub["project"] == "dash"

    # A memory written on the hub directly is read through the daemon: there is no copy.
    direct = hub.post("/api/memories", json={"content": "The staging cluster is in eu-west-1"})
    assert direct.status_code == 200
    listed = client.get("/api/memories", params={"limit": 10}).json()
    assert listed["total"] == 2
    assert {m["id"] for m in listed["memories"]} == {memory_id, direct.json()["uuid"]}
    only = client.get("/api/memories", params={"category": "preferences"}).json()
    assert [m["id"] for m in only["memories"]] == [memory_id] and only["total"] == 1

    recalled = client.post(
        "/api/memories/recall", json={"context": "which frontend framework for the dashboard"}
    ).json()
    assert recalled["memories"][0]["id"] == memory_id and recalled["memories"][0]["score"] > 0

    got = client.get(f"/api/memories/{memory_id}").json()
    assert got["content"] == on_hub["content"] and got["created_at"] == on_hub["created_at"]

    updated = client.put(
        f"/api/memories/{memory_id}", json={"content": "I prefer SvelteKit", "project": None}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["memory"]["content"] == "I prefer SvelteKit"
    after = hub.get(f"/api/memories/{memory_id}").json()
    assert after["content"] == "I prefer SvelteKit" and after["project"] is None

    # Sensitive content goes to the hub (sealed there) and is returned only by /secret.
    sensitive = client.post("/api/memories", json={"content": SECRET, "force_sensitive": True})
    assert sensitive.status_code == 201 and sensitive.json()["is_sensitive"] is True
    secret_id = sensitive.json()["id"]
    shown = client.get(f"/api/memories/{secret_id}").json()
    assert SECRET not in shown["content"] and shown["is_sensitive"] is True
    revealed = client.post(f"/api/memories/{secret_id}/secret").json()
    assert revealed == {"id": secret_id, "content": SECRET, "is_sensitive": True}
    assert hub.post(f"/api/memories/{secret_id}/secret").json()["content"] == SECRET

    health = client.get("/health").json()
    assert health["mode"] == "http" and health["memories"] == 3 and health["hub"] == "ok"
    stats = client.get("/api/stats").json()
    assert stats["total"] == 3 and stats["sensitive"] == 1 and stats["mode"] == "http"
    sync = client.get("/api/sync/status").json()
    assert sync["mode"] == "http" and sync["enabled"] is False and "HTTP-only" in sync["why"]
    sync_now = client.post("/api/sync")
    assert sync_now.status_code == 409 and sync_now.json()["error"]["code"] == "sync_off"
    assert client.get("/api/semantic").json()["enabled"] is False
    assert client.get("/api/learn/status").status_code == 503

    deleted = client.delete(f"/api/memories/{memory_id}").json()
    assert deleted == {"deleted": memory_id, "preview": "I prefer SvelteKit"}
    assert hub.get(f"/api/memories/{memory_id}").status_code == 404
    again = client.delete(f"/api/memories/{memory_id}")
    assert again.status_code in (200, 404)

    # Another user of the hub sees none of it: the daemon acted as its key's user.
    assert hub_server.client(KEYS["bob"]).get("/api/memories").json()["total"] == 0

    # No database, no key file, and the secret in no file under MEMORY_HOME nor in the log.
    assert not http_daemon.db.exists()
    assert not (http_daemon.home / "keys").exists()
    assert _files_containing(http_daemon.home, b"hunter2") == []
    http_daemon.signal(signal.SIGTERM)
    assert http_daemon.proc is not None and http_daemon.proc.wait(20) == 0
    assert "hunter2" not in http_daemon.output()


def test_import_and_export_go_through_the_hub(hub_server: HubServer, http_daemon: Daemon) -> None:
    client = http_daemon.client()
    items = [
        {"content": "Deploys happen on Tuesdays", "category": "decisions"},
        {"content": SECRET, "is_sensitive": True},
    ]
    imported = client.post("/api/memories/import", json=items)
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == 2
    assert hub_server.client(KEYS["alice"]).get("/api/memories").json()["total"] == 2

    lines = client.get("/api/memories/export").text.splitlines()
    records = {r["content"]: r for r in map(json.loads, lines) if r["content"] is not None}
    assert set(records) == {"Deploys happen on Tuesdays"}
    full = client.get("/api/memories/export", params={"include_sensitive": 1}).text
    contents = {json.loads(line)["content"] for line in full.splitlines()}
    assert contents == {"Deploys happen on Tuesdays", SECRET}


def test_an_import_skipping_bad_items_works_against_the_hub(
    hub_server: HubServer, http_daemon: Daemon
) -> None:
    """The hub skips the item it refuses and reports it by index; the daemon passes that on
    (one request) and imports the others. Sent again, nothing is imported twice. Without
    skip_invalid the daemon's import stays all or nothing in HTTP-only mode too."""
    items = [
        {"content": "first of three"},
        {"content": "a category the hub refuses", "category": "banana"},
        {"content": "third of three"},
    ]
    whole = http_daemon.client().post("/api/memories/import", json=items)
    assert whole.status_code == 422 and whole.json()["error"]["item"] == 1, whole.text
    hub = hub_server.client(KEYS["alice"])
    assert hub.get("/api/memories").json()["total"] == 0
    for imported, duplicates in ((2, 0), (0, 2)):
        out = http_daemon.client().post(
            "/api/memories/import", params={"skip_invalid": "1"}, json=items
        )
        assert out.status_code == 200, out.text
        assert (out.json()["imported"], out.json()["duplicates"]) == (imported, duplicates)
        rejected = [(r["item"], r["code"]) for r in out.json()["rejected"]]
        assert rejected == [(1, "unknown_category")]
        assert "banana" in out.json()["rejected"][0]["reason"]
        assert hub.get("/api/memories").json()["total"] == 2


def test_bad_input_gets_the_hubs_4xx_and_message(
    hub_server: HubServer, http_daemon: Daemon
) -> None:
    client = http_daemon.client()
    too_long = client.post("/api/memories", json={"content": "x" * 5000})
    assert too_long.status_code == 422
    error = too_long.json()["error"]
    assert error["code"] == "content_too_long" and "5000 characters" in error["message"]

    category = client.post("/api/memories", json={"content": "ok", "category": "nonsense"})
    assert category.status_code == 422
    assert category.json()["error"]["code"] == "unknown_category"
    assert "nonsense" in category.json()["error"]["message"]

    missing = client.get("/api/memories/0190aaaa-0000-7000-8000-000000000000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"

    # An id is checked by the local rule before it goes into the hub's URL path.
    bad_id = client.get("/api/memories/stats?x=1")
    assert bad_id.status_code == 422 and bad_id.json()["error"]["code"] == "invalid"
    assert "is not a memory id" in bad_id.json()["error"]["message"]

    # The daemon's own shape checks still apply first.
    shape = client.post("/api/memories/recall", json={"context": "x", "limit": 0})
    assert shape.status_code == 422
    assert hub_server.client(KEYS["alice"]).get("/api/memories").json()["total"] == 0


def test_a_rejected_key_is_a_clear_502(hub_server: HubServer) -> None:
    env = http_only_env(hub_server.url)
    env["MEMORY_API_KEY"] = "not-a-key-the-hub-knows"
    with running_daemon(**env) as daemon:
        answer = daemon.client().post("/api/memories", json={"content": "lost?"})
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["code"] == "hub_auth_failed" and "MEMORY_API_KEY" in error["message"]


def test_hub_down_is_a_503_at_once_and_health_still_answers(
    hub_server: HubServer, http_daemon: Daemon
) -> None:
    client = http_daemon.client()
    assert client.post("/api/memories", json={"content": "before"}).status_code == 201
    hub_server.stop()

    started = time.monotonic()
    answer = client.post("/api/memories", json={"content": "while the hub is down"})
    assert time.monotonic() - started < 2.0
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["code"] == "hub_unreachable" and hub_server.url in error["message"]
    assert client.get("/api/memories").json()["error"]["code"] == "hub_unreachable"

    health = client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["mode"] == "http" and body["memories"] is None
    assert "cannot reach the hub" in body["hub"]

    # `memory status` says where memories live and that the count is unknown, not "None".
    status = run_module("memoryd.cli.memory_cmd", "status", env=http_daemon.env)
    assert status.returncode == 0, status.stderr
    assert f"hub       {hub_server.url}" in status.stdout
    assert "memories  unknown (hub unreachable)" in status.stdout
    assert "None" not in status.stdout

    # Hooks need the local store: their endpoints are off (503), and hooks fail open on that.
    hook = client.post("/api/hooks/prompt", json={"session_id": "s1", "prompt": "hello there"})
    assert hook.status_code == 503 and hook.json()["error"]["code"] == "unavailable"


@pytest.fixture
def silent_hub() -> Iterator[str]:
    """A TCP port that accepts connections (the kernel's backlog) and never answers."""
    port = free_port()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen(16)
        yield f"http://127.0.0.1:{port}"


def test_a_silent_hub_times_out_into_a_503_and_health_stays_fast(silent_hub: str) -> None:
    with running_daemon(**http_only_env(silent_hub, MEMORY_HUB_TIMEOUT="1")) as daemon:
        client = daemon.client()
        started = time.monotonic()
        answer = client.post("/api/memories/recall", json={"context": "anything at all"})
        elapsed = time.monotonic() - started
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "hub_unreachable"
        assert "did not answer within 1 s" in answer.json()["error"]["message"]
        assert 0.9 <= elapsed < 3.0

        # The shim's probe waits 0.5 s: /health answers well within it.
        started = time.monotonic()
        health = client.get("/health")
        assert time.monotonic() - started < 0.5
        assert health.status_code == 200 and health.json()["memories"] is None
        assert "did not answer" in health.json()["hub"]


def test_get_many_asks_the_hub_and_reports_other_users_ids_as_not_found(
    hub_server: HubServer, http_daemon: Daemon
) -> None:
    client = http_daemon.client()
    mine = client.post("/api/memories", json={"content": "Alice deploys on Fridays"}).json()["id"]
    bobs = (
        hub_server.client(KEYS["bob"])
        .post("/api/memories", json={"content": "Bob's private note"})
        .json()["uuid"]
    )
    answer = client.post("/api/memories/get", json={"ids": [mine, bobs]})
    assert answer.status_code == 200, answer.text
    assert [m["content"] for m in answer.json()["memories"]] == ["Alice deploys on Fridays"]
    assert answer.json()["not_found"] == [bobs]


def test_memory_import_of_an_original_database_through_the_hub(
    hub_server: HubServer, http_daemon: Daemon
) -> None:
    """`memory import` in HTTP-only mode (issue 19): the hub skips the two bad rows, the CLI
    names them by their ids in the original database and exits 4; a second run imports
    nothing twice (the rows have no id: the hub matches their content)."""
    source = original_db_with_bad_rows(short_tmpdir())
    first = cli(http_daemon, "--json", "import", "--from-claude-memory-mcp", str(source))
    report = json.loads(first.stdout)
    skipped = {r["row"]: r["code"] for r in report["rejected"]}
    assert (first.returncode, report["imported"]) == (4, 5), first.stderr
    assert skipped == {5: "content_too_long", 6: "unknown_category"}
    again = cli(http_daemon, "import", "--from-claude-memory-mcp", str(source))
    assert again.returncode == 4
    assert "Imported 0, merged 5 duplicates" in again.stdout
    assert "row 5: " in again.stdout and "row 6: " in again.stdout
    assert hub_server.client(KEYS["alice"]).get("/api/memories").json()["total"] == 5
