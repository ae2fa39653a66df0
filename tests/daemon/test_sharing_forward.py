"""The daemon's sharing routes (memoryd.sharing) without a reachable hub: a clear 4xx or 503,
never a hang or a 500; and the literal paths are never taken for a memory id."""

from __future__ import annotations

from tests.support import free_port, running_daemon


def test_without_a_hub_the_sharing_routes_say_no_hub() -> None:
    with running_daemon() as daemon:
        client = daemon.client()
        for method, path, body in (
            ("GET", "/api/memories/shared-with-me", None),
            ("GET", "/api/memories/my-shares", None),
            ("GET", "/api/users", None),
            ("POST", "/api/memories/share-tag", {"tag": "x", "shared_with": "bob"}),
            ("DELETE", "/api/memories/share-tag", {"tag": "x", "shared_with": "bob"}),
        ):
            r = client.request(method, path, json=body)
            assert r.status_code == 409, (path, r.text)
            assert r.json()["error"]["code"] == "no_hub"
            assert "MEMORY_API_KEY" in r.json()["error"]["message"]
        # A bad body is refused before anything is forwarded.
        r = client.post("/api/memories/share-tag", json={"tag": "x"})
        assert r.status_code == 422


def test_an_unreachable_hub_is_a_503_naming_it() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with running_daemon(MEMORY_API_URL=url, MEMORY_API_KEY="k" * 20) as daemon:
        r = daemon.client().get("/api/memories/shared-with-me")
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "hub_unreachable"
        assert url in r.json()["error"]["message"]
