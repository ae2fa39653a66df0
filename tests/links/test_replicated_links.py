"""Links through the hub with real processes: a link made on daemon A reaches daemon B (and the
hub's REST view) by sync, an unlink follows it, and recall on B honours a replicated
`supersedes`; in HTTP-only mode the daemon's link routes are the hub's."""

from __future__ import annotations

from typing import Any

import httpx

from tests.hubs import KEYS
from tests.remote.conftest import http_only_env
from tests.support import HubServer, running_daemon, store
from tests.sync.processes import sync_round as sync_now
from tests.sync.processes import synced_clients


def _uuids(ends: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hub's link ends (integer `id`, `uuid` beside) as the daemon shows them."""
    return [{"id": end["uuid"], "type": end["type"]} for end in ends]


def _sync(client: httpx.Client) -> None:
    assert sync_now(client)["ok"]


def _links(client: httpx.Client, memory_id: Any) -> dict[str, Any]:
    response = client.get(f"/api/memories/{memory_id}/links")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_link_made_on_one_daemon_reaches_another_through_the_hub(
    hub_server: HubServer,
) -> None:
    with synced_clients(hub_server, hub_server) as (ca, cb):
        old = store(ca, "The release train leaves every Tuesday")
        new = store(ca, "Releases go out on demand now, no train any more")
        part = store(ca, "Release checklist item: tag the image")
        for src, dst, kind in ((new, old, "supersedes"), (part, new, "part-of")):
            body = {"target_id": dst, "link_type": kind}
            assert ca.post(f"/api/memories/{src}/links", json=body).status_code == 200
        _sync(ca)
        _sync(cb)
        assert _links(cb, new) == {
            "id": new,
            "links_out": [{"id": old, "type": "supersedes"}],
            "links_in": [{"id": part, "type": "part-of"}],
        }
        recalled = cb.post("/api/memories/recall", json={"context": "release train Tuesday"})
        ids = [m["id"] for m in recalled.json()["memories"]]
        assert ids.index(new) < ids.index(old)
        # The hub's own view has them too.
        hub = hub_server.client(KEYS["alice"])
        # (it answers the integer ids, as the original's clients read them, the UUIDs beside)
        assert _uuids(hub.get(f"/api/memories/{part}/links").json()["links_out"]) == [
            {"id": new, "type": "part-of"}
        ]
        # A short integer id is local: B numbers the synced-in memories itself, and takes
        # them wherever an id goes.
        num = cb.get(f"/api/memories/{part}").json()["num"]
        assert cb.delete(f"/api/memories/{num}/links/{new}/part-of").status_code == 200
        _sync(cb)
        _sync(ca)
        assert _links(ca, part)["links_out"] == []
        assert _links(ca, new)["links_in"] == []


def test_http_only_daemon_links_on_the_hub(hub_server: HubServer) -> None:
    with running_daemon(**http_only_env(hub_server.url)) as daemon:
        client = daemon.client()
        first = store(client, "HTTP-only link test: the heron service")
        second = store(client, "HTTP-only link test: the heron service's runbook")
        body = {"target_id": first, "link_type": "see-also"}
        answer = client.post(f"/api/memories/{second}/links", json=body)
        assert answer.status_code == 200, answer.text
        hub = hub_server.client(KEYS["alice"])
        assert _uuids(hub.get(f"/api/memories/{second}/links").json()["links_out"]) == [
            {"id": first, "type": "see-also"}
        ]
        assert _links(client, first)["links_in"] == [{"id": second, "type": "see-also"}]
        gone = client.delete(f"/api/memories/{second}/links/{first}/see-also")
        assert gone.status_code == 200, gone.text
        assert client.delete(f"/api/memories/{second}/links/{first}/see-also").status_code == 404
        bad = client.post(f"/api/memories/{second}/links", json={"target_id": 1, "link_type": "x"})
        assert bad.status_code == 422, bad.text
        # The hub's integer ids pass through, as shown by the daemon in this mode.
        nums = [client.get(f"/api/memories/{m}").json()["num"] for m in (first, second)]
        body = {"target_id": nums[0], "link_type": "part-of"}
        answer = client.post(f"/api/memories/{nums[1]}/links", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["dst_id"] == first
        assert client.get(f"/api/memories/{nums[1]}/links").json()["links_out"] == [
            {"id": first, "type": "part-of"}
        ]
        assert client.delete(f"/api/memories/{nums[1]}/links/{nums[0]}/part-of").status_code == 200
        for bad_id in ("-1", "1e309", "99999999999999999999"):
            assert client.get(f"/api/memories/{bad_id}/links").status_code in (404, 422)


def test_a_memory_restored_with_its_links_reaches_another_daemon(hub_server: HubServer) -> None:
    """A restore puts the links in the new memory's first write: another replica gets them
    with it, and records the link changes it pulls in the memory's history as sync's."""
    with synced_clients(hub_server, hub_server) as (ca, cb):
        doomed = store(ca, "The backup job copies the ledger to the cold bucket nightly")
        bucket = store(ca, "The cold bucket is s3://acme-cold in eu-west-1")
        body = {"target_id": bucket, "link_type": "see-also"}
        assert ca.post(f"/api/memories/{doomed}/links", json=body).status_code == 200
        _sync(ca)
        _sync(cb)
        versions = cb.get(f"/api/memories/{doomed}/history").json()["versions"]
        assert [(v["origin"], v["changed"]) for v in versions] == [
            ("sync", ["links"]),
            ("sync", []),
        ]
        assert ca.delete(f"/api/memories/{doomed}").status_code == 200
        entry = next(t for t in ca.get("/api/trash").json()["trash"] if t["memory_id"] == doomed)
        restored = ca.post(f"/api/trash/{entry['seq']}/restore").json()
        assert restored["links_dropped"] == []
        _sync(ca)
        _sync(cb)
        assert _links(cb, restored["restored"])["links_out"] == [{"id": bucket, "type": "see-also"}]
