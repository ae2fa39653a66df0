"""Typed links in the curation API on a real daemon: a link and an unlink each show in the
memory's history (`changed: ["links"]`, the links in `fields`), and a restore from the trash
brings back the links to memories still there and names in `links_dropped` those it dropped."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import Daemon
from tests.support import store as stored


@pytest.fixture
def client(shared_daemon: Daemon) -> httpx.Client:
    return shared_daemon.client()


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def link(client: httpx.Client, src: str, dst: str, kind: str) -> None:
    ok(client.post(f"/api/memories/{src}/links", json={"target_id": dst, "link_type": kind}))


def test_a_link_and_an_unlink_show_in_the_history(client: httpx.Client) -> None:
    outage = stored(client, "The March outage came from an expired TLS certificate")
    fix = stored(client, "Certificates now renew with certbot on a systemd timer")
    link(client, outage, fix, "resolved-by")
    ok(client.delete(f"/api/memories/{outage}/links/{fix}/resolved-by"))
    versions = ok(client.get(f"/api/memories/{outage}/history"))["versions"]
    assert [(v["action"], v["changed"], v["fields"]["links"]) for v in versions] == [
        ("changed", ["links"], []),
        ("changed", ["links"], [["resolved-by", fix]]),
        ("created", [], []),
    ]
    assert [v["origin"] for v in versions] == ["edit", "edit", "manual"]


def test_a_restore_brings_back_live_links_and_names_the_dropped(client: httpx.Client) -> None:
    doomed = stored(client, "Staging deploys wait for the smoke tests on the canary")
    canary = stored(client, "The canary host is staging-canary-2")
    smoke = stored(client, "Smoke tests live in ops/smoke and take four minutes")
    link(client, doomed, canary, "see-also")
    link(client, doomed, smoke, "see-also")
    ok(client.delete(f"/api/memories/{smoke}"))
    ok(client.delete(f"/api/memories/{doomed}"))
    entry = next(t for t in ok(client.get("/api/trash"))["trash"] if t["memory_id"] == doomed)
    assert entry["fields"]["links"] == sorted([["see-also", canary], ["see-also", smoke]])

    answer = ok(client.post(f"/api/trash/{entry['seq']}/restore"))
    assert answer["links_dropped"] == [{"id": smoke, "type": "see-also"}]
    back = answer["restored"]
    assert ok(client.get(f"/api/memories/{back}/links"))["links_out"] == [
        {"id": canary, "type": "see-also"}
    ]
    assert ok(client.get(f"/api/memories/{canary}/links"))["links_in"] == [
        {"id": back, "type": "see-also"}
    ]
