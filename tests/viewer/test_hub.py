"""The viewer that memory-hub serves at /ui, in process on a real PostgreSQL: a login with the
user's API key, the same gate as the daemon's, and per-user isolation: a user never sees
another's memories, ids or counts, and cannot act on them."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import FakeClock
from tests.hubs import KEYS, HubHarness, running_hub

ORIGIN = "http://hub.example"


@pytest.fixture
async def hub(hub_dsn: str) -> AsyncIterator[HubHarness[FakeClock]]:
    async with running_hub(hub_dsn, FakeClock()) as harness:
        yield harness


def browser(hub: HubHarness[FakeClock]) -> httpx.AsyncClient:
    """A cookie-keeping client, as a browser at the hub's public name."""
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=hub.app), base_url=ORIGIN, timeout=30
    )
    hub.clients[f"browser-{len(hub.clients)}"] = client
    return client


async def logged_in(hub: HubHarness[FakeClock], user: str) -> tuple[httpx.AsyncClient, str]:
    client = browser(hub)
    answer = await client.post(
        "/ui/login", data={"api_key": KEYS[user]}, headers={"origin": ORIGIN}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/"
    page = await client.get("/ui/")
    assert page.status_code == 200
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert found is not None
    return client, found.group(1)


async def remember(hub: HubHarness[FakeClock], user: str, content: str, **fields: Any) -> str:
    answer = await hub.client(user).post("/api/memories", json={"content": content, **fields})
    assert answer.status_code == 200, answer.text
    memory_id: str = answer.json()["uuid"]
    return memory_id


async def test_login_takes_the_users_api_key(hub: HubHarness[FakeClock]) -> None:
    client = browser(hub)
    assert (await client.get("/ui/")).status_code == 401
    form = await client.get("/ui/login")
    assert form.status_code == 200 and 'type="password"' in form.text
    wrong = await client.post("/ui/login", data={"api_key": "nope"}, headers={"origin": ORIGIN})
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    forged = await client.post(
        "/ui/login", data={"api_key": KEYS["alice"]}, headers={"origin": "http://evil.example"}
    )
    assert forged.status_code == 403 and "set-cookie" not in forged.headers
    right = await client.post(
        "/ui/login", data={"api_key": KEYS["alice"]}, headers={"origin": ORIGIN}
    )
    assert right.status_code == 303
    attributes = {p.strip().lower() for p in right.headers["set-cookie"].split(";")[1:]}
    assert {"httponly", "path=/ui", "samesite=strict"} <= attributes
    assert KEYS["alice"] not in right.headers["set-cookie"]  # a session id, not the key
    page = await client.get("/ui/")
    assert page.status_code == 200 and "alice" in page.text
    assert "content-security-policy" in page.headers


async def test_each_user_sees_only_their_own_memories(hub: HubHarness[FakeClock]) -> None:
    mine = await remember(
        hub, "alice", "Alice keeps the quokka launch plan", project="quokka", tags=["plans"]
    )
    secret = await remember(hub, "alice", "Alice's quokka vault code is 4711", force_sensitive=True)
    await remember(hub, "bob", "Bob likes the pangolin dashboard", project="pangolin")
    alice, _ = await logged_in(hub, "alice")
    bob, bob_csrf = await logged_in(hub, "bob")

    assert "quokka launch plan" in (await alice.get("/ui/?q=quokka launch")).text
    for path in ("/ui/", "/ui/?q=quokka launch plan", "/ui/?project=quokka", "/ui/status"):
        page = await bob.get(path)
        assert page.status_code == 200, path
        # What the page shows (the query typed is echoed in its box, nothing else of alice's).
        shown = re.sub(r'<input type="search" name="q" value="[^"]*"', "", page.text)
        shown = re.sub(r'<input name="project" value="[^"]*"', "", shown)
        assert "quokka" not in shown.lower() and mine not in shown, path
    assert "pangolin" in (await bob.get("/ui/")).text
    assert "total</th><td>1<" in (await bob.get("/ui/status")).text.replace("\n", "")

    assert (await bob.get(f"/ui/memories/{mine}")).status_code == 404
    change = {"origin": ORIGIN}
    reveal = await bob.post(
        f"/ui/memories/{secret}/reveal", data={"csrf": bob_csrf}, headers=change
    )
    assert reveal.status_code == 404 and "4711" not in reveal.text
    delete = await bob.post(f"/ui/memories/{mine}/delete", data={"csrf": bob_csrf}, headers=change)
    assert delete.status_code == 404
    edit = await bob.post(
        f"/ui/memories/{mine}/edit",
        data={"csrf": bob_csrf, "content": "pwned", "updated_at": ""},
        headers=change,
    )
    assert edit.status_code == 404
    still = (await hub.client("alice").get(f"/api/memories/{mine}")).json()
    assert still["content"] == "Alice keeps the quokka launch plan"

    exported = await bob.post("/ui/export", data={"csrf": bob_csrf}, headers=change)
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert [line["content"] for line in lines] == ["Bob likes the pangolin dashboard"]


async def test_the_hub_pages_work_for_their_user(hub: HubHarness[FakeClock]) -> None:
    memory_id = await remember(hub, "alice", "The wombat service runs on port 8443")
    sensitive = await remember(hub, "alice", "The wombat token is wt-123", force_sensitive=True)
    alice, csrf = await logged_in(hub, "alice")
    change = {"origin": ORIGIN}
    edited = await alice.post(
        f"/ui/memories/{memory_id}/edit",
        data={
            "csrf": csrf,
            "updated_at": (await hub.client("alice").get(f"/api/memories/{memory_id}")).json()[
                "updated_at"
            ],
            "content": "The wombat service runs on port 9443",
            "category": "facts",
            "tags": "",
            "expanded_keywords": "",
            "importance": "0.5",
            "project": "",
        },
        headers=change,
    )
    assert edited.status_code == 303, edited.text
    stored = (await hub.client("alice").get(f"/api/memories/{memory_id}")).json()
    assert stored["content"] == "The wombat service runs on port 9443"
    learned = await alice.get("/ui/learned")
    assert learned.status_code == 200 and "not available here" in learned.text
    status = await alice.get("/ui/status")
    assert status.status_code == 200 and "<svg" in status.text
    exported = await alice.post(
        "/ui/export", data={"csrf": csrf, "include_sensitive": "1"}, headers=change
    )
    contents = {json.loads(line)["content"] for line in exported.text.splitlines()}
    assert contents == {"The wombat service runs on port 9443", "The wombat token is wt-123"}
    assert sensitive in exported.text
    logout = await alice.post("/ui/logout", data={"csrf": csrf}, headers=change)
    assert logout.status_code == 303 and logout.headers["location"] == "/ui/login"
    assert (await alice.get("/ui/")).status_code == 401


async def test_sessions_history_and_trash_stay_private_on_the_hub(
    hub: HubHarness[FakeClock],
) -> None:
    """The hub keeps no sessions, history or trash (memoryd does): its pages say so, and one
    user can neither see nor act on another's memory through them."""
    older = await remember(hub, "alice", "Alice's ocelot release is on Friday")
    newer = await remember(hub, "alice", "Alice's ocelot release moved to Monday")
    gone = await remember(hub, "alice", "Alice's ocelot beta list is private")
    assert (await hub.client("alice").delete(f"/api/memories/{gone}")).status_code == 200
    alice, _ = await logged_in(hub, "alice")
    bob, bob_csrf = await logged_in(hub, "bob")
    change = {"origin": ORIGIN}

    own = await alice.get(f"/ui/memories/{older}")
    assert own.status_code == 200 and "ocelot" in own.text
    assert 'class="history"' not in own.text  # no history on the hub, not someone else's
    for path in ("/ui/sessions", "/ui/trash", "/ui/learned"):
        page = await bob.get(path)
        assert page.status_code == 200, path
        assert "not available here" in page.text, path
        assert "ocelot" not in page.text.lower() and gone not in page.text, path
    assert (await bob.get(f"/ui/sessions/{older}")).status_code == 404
    supersede = await bob.post(
        f"/ui/memories/{older}/supersede",
        data={"csrf": bob_csrf, "by": newer},
        headers=change,
    )
    assert supersede.status_code == 404 and "ocelot" not in supersede.text.lower()
    restore = await bob.post("/ui/trash/1/restore", data={"csrf": bob_csrf}, headers=change)
    assert restore.status_code == 404 and "ocelot" not in restore.text.lower()
    assert (await hub.client("alice").get(f"/api/memories/{newer}")).json()["supersedes"] is None


async def test_an_import_from_the_page_stays_all_or_nothing(hub: HubHarness[FakeClock]) -> None:
    """The hub skips a refused row by default; the viewer's import page asks it for all or
    nothing, so the page shows the row's error and nothing is stored, as on the daemon."""
    client, token = await logged_in(hub, "alice")
    lines = [{"content": "a fine row"}, {"content": "x", "category": "banana"}]
    body = "\n".join(json.dumps(line) for line in lines).encode()
    answer = await client.post(
        "/ui/import",
        files={"file": ("memories.jsonl", body, "application/x-ndjson")},
        headers={"origin": ORIGIN, "x-csrf-token": token},
    )
    assert answer.status_code == 422 and "banana" in answer.text
    assert (await hub.client("alice").get("/api/memories")).json()["total"] == 0


async def test_a_memory_page_on_the_hub_shows_its_typed_links(
    hub: HubHarness[FakeClock],
) -> None:
    """The page reads GET /api/memories/{id}/links, which the hub serves too (the memory's
    own answer has no links); the hub has no POST /api/memories/get, so the linked memory is
    shown by its id alone."""
    epic = await remember(hub, "alice", "The numbat migration epic")
    step = await remember(hub, "alice", "Numbat step one: freeze the schema")
    body = {"target_id": epic, "link_type": "part-of"}
    linked = await hub.client("alice").post(f"/api/memories/{step}/links", json=body)
    assert linked.status_code == 200, linked.text
    alice, _ = await logged_in(hub, "alice")
    page = await alice.get(f"/ui/memories/{step}")
    assert page.status_code == 200, page.text
    assert f'data-type="part-of">part-of <a href="/ui/memories/{epic}">' in page.text
