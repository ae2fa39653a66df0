"""Sensitive memories: encrypted at rest, absent from the database bytes (db and WAL), hidden
from recall/list/get/export, returned only by POST /api/memories/{id}/secret."""

from __future__ import annotations

import json
import secrets
import signal
import string
from pathlib import Path

import httpx

from tests.support import Daemon

ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def b64ish(n: int) -> str:
    return rand(n, ALNUM + "+/")


def cases() -> list[tuple[str, str, list[str], bool]]:
    """(name, content, the secret parts that must never be on disk, force_sensitive)."""
    aws = "AKIA" + rand(16, string.ascii_uppercase + string.digits)
    aws_secret = rand(40, ALNUM + "/+")
    pem_body = [b64ish(64) for _ in range(3)] + [b64ish(20)]
    gh = "ghp_" + rand(36)
    jwt = f"eyJhbGciOiJIUzI1NiJ9.eyJ{rand(30)}.{rand(43)}"
    url_pw = "Pw" + rand(14)
    assigned = "hunter" + rand(10)
    entropy = rand(48)
    phrase = f"vault combination {rand(6, string.ascii_lowercase)}"
    in_words = "hunter" + rand(6, string.digits)
    pem = "\n".join(["-----BEGIN RSA PRIVATE KEY-----", *pem_body, "-----END RSA PRIVATE KEY-----"])
    return [
        ("pem", f"Deploy key for the build box:\n{pem}", [*pem_body], False),
        ("aws", f"Staging AWS access key {aws} with secret {aws_secret}", [aws, aws_secret], False),
        ("github", f"Release bot GitHub token {gh}", [gh], False),
        ("jwt", f"Test session JWT {jwt}", [jwt, jwt.split(".")[2]], False),
        (
            "url",
            f"Reports DB is postgres://reporter:{url_pw}@db.internal:5432/reports",
            [url_pw],
            False,
        ),
        ("assignment", f"The wiki login is password={assigned}", [assigned], False),
        ("entropy", f"Webhook signing value {entropy}", [entropy], False),
        ("words", f"The billing admin password is {in_words}", [in_words], False),
        ("forced", f"Front door {phrase}", [phrase], True),
    ]


def file_bytes(db: Path) -> bytes:
    return b"".join(
        Path(f"{db}{suffix}").read_bytes()
        for suffix in ("", "-wal")
        if Path(f"{db}{suffix}").exists()
    )


def test_sensitive_content_never_reaches_disk_or_reads(daemon: Daemon) -> None:
    client: httpx.Client = daemon.client()
    stored: dict[str, tuple[str, str, list[str]]] = {}
    for name, content, parts, forced in cases():
        response = client.post(
            "/api/memories",
            json={"content": content, "force_sensitive": forced, "tags": [f"kind-{name}"]},
        )
        assert response.status_code == 201, (name, response.text)
        assert response.json()["is_sensitive"] is True, name
        stored[response.json()["id"]] = (name, content, parts)

    def assert_absent(blob: bytes, where: str) -> None:
        for name, _content, parts in stored.values():
            for part in parts:
                assert part.encode() not in blob, f"{name} secret found in {where}"

    assert_absent(file_bytes(daemon.db), "the database files while running")
    for memory_id, (name, _content, _parts) in stored.items():
        got = client.get(f"/api/memories/{memory_id}")
        assert got.json()["content"] == f"[SENSITIVE - use secret_get(id={memory_id})]"
        assert_absent(got.content, f"GET {name}")
    listed = client.get("/api/memories", params={"limit": 100})
    assert listed.json()["total"] == len(stored)
    assert_absent(listed.content, "list")
    for query in (
        "deploy key build box",
        "staging aws access key",
        "github token release",
        "session jwt",
        "reports db",
        "wiki login",
        "webhook signing",
        "front door",
        "billing admin password",
    ):
        found = client.post("/api/memories/recall", json={"context": query})
        assert_absent(found.content, f"recall {query!r}")
        for memory in found.json()["memories"]:
            assert memory["content"].startswith("[SENSITIVE")
    # No word of a sensitive text is searchable (issue 17, defect 5), only what the user gave it.
    hits = client.post("/api/memories/recall", json={"context": "release bot"}).json()
    assert hits["memories"] == []
    hits = client.post("/api/memories/recall", json={"context": "kind-github"}).json()
    assert [stored[m["id"]][0] for m in hits["memories"]] == ["github"]
    export = client.get("/api/memories/export")
    assert_absent(export.content, "export")
    # Only the secret endpoint returns the content, exactly.
    for memory_id, (_name, content, _parts) in stored.items():
        secret = client.post(f"/api/memories/{memory_id}/secret").json()
        assert secret == {"id": memory_id, "content": content, "is_sensitive": True}
    with_secrets = client.get("/api/memories/export", params={"include_sensitive": "1"})
    exported = {
        line["id"]: line["content"] for line in map(json.loads, with_secrets.text.splitlines())
    }
    assert exported == {memory_id: entry[1] for memory_id, entry in stored.items()}
    # Updating a sensitive memory keeps it encrypted; deleting it removes the ciphertext.
    first = next(iter(stored))
    client.put(f"/api/memories/{first}", json={"importance": 0.9})
    assert client.post(f"/api/memories/{first}/secret").json()["content"] == stored[first][1]
    daemon.signal(signal.SIGTERM)
    assert daemon.stop() == 0
    assert_absent(file_bytes(daemon.db), "the database files after shutdown")
    log = b"".join(p.read_bytes() for p in daemon.home.rglob("*.log"))
    assert_absent(log, "logs")


def test_secret_in_tags_or_keywords_is_redacted_and_marks_sensitive(daemon: Daemon) -> None:
    client = daemon.client()
    token = "ghp_" + rand(36)
    out = client.post(
        "/api/memories",
        json={"content": "CI release notes", "expanded_keywords": f"token {token}"},
    ).json()
    assert out["is_sensitive"] is True
    got = client.get(f"/api/memories/{out['id']}").json()
    assert token not in got["expanded_keywords"]
    assert token.encode() not in file_bytes(daemon.db)


def test_a_force_sensitive_memory_is_sealed_whole(daemon: Daemon) -> None:
    """Issue 17, defect 5: only the detected token was redacted; the passphrase beside it was in
    the content column, the full-text index and the WAL, and recalling it confirmed a guess."""
    client = daemon.client()
    passphrase = "Hunter2Canary" + rand(8)
    token = "ghp_" + rand(36)
    out = client.post(
        "/api/memories",
        json={
            "content": f"admin passphrase is {passphrase} and token {token}",
            "force_sensitive": True,
            "tags": ["admin-console"],
        },
    ).json()
    assert out["is_sensitive"] is True
    for guess in (passphrase, "passphrase", "passphrase token"):
        found = client.post("/api/memories/recall", json={"context": guess}).json()
        assert found["memories"] == [], guess
    by_tag = client.post("/api/memories/recall", json={"context": "admin-console"}).json()
    assert [m["id"] for m in by_tag["memories"]] == [out["id"]]
    blob = file_bytes(daemon.db)
    assert passphrase.encode() not in blob and b"passphrase is" not in blob
    secret = client.post(f"/api/memories/{out['id']}/secret").json()
    assert secret["content"] == f"admin passphrase is {passphrase} and token {token}"
