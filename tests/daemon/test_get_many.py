"""POST /api/memories/get: several memories at once, ids naming none listed, never an error."""

from __future__ import annotations

from tests.support import running_daemon


def test_get_many_returns_the_found_and_lists_the_rest() -> None:
    with running_daemon() as daemon:
        client = daemon.client()
        ids = [
            client.post("/api/memories", json={"content": text}).json()["id"]
            for text in ("Postgres 16 is the hub's database", "CI runs on GitHub Actions")
        ]
        gone = client.post("/api/memories", json={"content": "to forget"}).json()["id"]
        assert client.delete(f"/api/memories/{gone}").status_code == 200

        answer = client.post(
            "/api/memories/get", json={"ids": [ids[1], gone, ids[0], ids[1], "../x"]}
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert [m["content"] for m in body["memories"]] == [
            "CI runs on GitHub Actions",
            "Postgres 16 is the hub's database",
        ]
        assert body["not_found"] == [gone, "../x"]

        for bad in ({}, {"ids": []}, {"ids": "abc"}, {"ids": ["a" * 65]}, {"ids": ["x"] * 101}):
            refused = client.post("/api/memories/get", json=bad)
            assert 400 <= refused.status_code < 500, (bad, refused.text)
            assert set(refused.json()["error"]) == {"code", "message"}
