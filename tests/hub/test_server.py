"""Start-up: settings, migrations under concurrency, the real `memory-hub` process, /health
when the database is gone, no plaintext at rest, and Vault transit (faked over HTTP)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg
import pytest

from memory_core.errors import ConfigError
from memory_core.ids import uuid7
from memory_hub.config import load_settings
from memory_hub.migrations import MIGRATIONS, migrate_url
from tests.conftest import FakeClock
from tests.hub.ops import replica, sealed_put
from tests.hubs import KEYS, HubHarness, hub_env, running_hub
from tests.pg import PgCluster
from tests.support import HubServer, run_module

REPO = Path(__file__).resolve().parents[2]


def test_settings_errors_name_the_variable() -> None:
    base = {"DATABASE_URL": "postgresql://u@h/db"}
    for env, fragment in (
        ({}, "DATABASE_URL is required"),
        (base, "set API_KEY"),
        ({**base, "API_KEYS": "{alice: k}"}, "invalid API_KEYS: not JSON"),
        ({**base, "API_KEYS": '["k"]'}, "invalid API_KEYS"),
        ({**base, "API_KEYS": '{"a": "short"}'}, "8+ characters"),
        ({**base, "API_KEYS": '{"a": "samekey123", "b": "samekey123"}'}, "share the same key"),
        ({**base, "API_KEY": "k" * 10, "VAULT_ADDR": "http://v"}, "VAULT_TOKEN"),
        ({**base, "API_KEY": "k" * 10, "HUB_MAX_PUSH_OPS": "lots"}, "HUB_MAX_PUSH_OPS"),
    ):
        with pytest.raises(ConfigError) as caught:
            load_settings(env)
        assert fragment in caught.value.message, (env, caught.value.message)
    ok = load_settings({**base, "API_KEY": "single-key-1", "API_KEYS": '{"bob": "bob-key-123"}'})
    assert ok.keys == {"bob": "bob-key-123", "default": "single-key-1"}


def test_malformed_api_keys_stops_the_process_with_one_line() -> None:
    env = {**os.environ, "DATABASE_URL": "postgresql://u@h/db", "API_KEYS": "{oops"}
    result = run_module("memory_hub", "serve", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("memory-hub: invalid API_KEYS: not JSON")
    assert "Traceback" not in result.stderr


async def test_two_replicas_migrating_at_once_apply_each_step_once(hub_dsn: str) -> None:
    results = await asyncio.gather(*(migrate_url(hub_dsn) for _ in range(4)))
    applied = sorted(v for r in results for v in r)
    assert applied == [v for v, _, _ in MIGRATIONS]
    assert await migrate_url(hub_dsn) == []
    conn = await asyncpg.connect(hub_dsn)
    try:
        rows = await conn.fetch("SELECT version FROM hub_schema_migrations ORDER BY version")
    finally:
        await conn.close()
    assert [r["version"] for r in rows] == [v for v, _, _ in MIGRATIONS]


def test_memory_hub_serve_process_end_to_end(hub_dsn: str) -> None:
    server = HubServer(hub_env(hub_dsn))
    migrated = server.migrate()
    assert migrated.returncode == 0 and "applied migrations" in migrated.stdout
    server.start()
    try:
        alice = server.client(KEYS["alice"])
        r = alice.post("/api/memories", json={"content": "over real HTTP"})
        assert r.status_code == 200
        got = alice.get("/api/memories").json()
        assert [m["content"] for m in got["memories"]] == ["over real HTTP"]
    finally:
        server.stop()


async def test_health_is_503_when_the_database_is_unreachable(hub_dsn: str) -> None:
    async with running_hub(hub_dsn, FakeClock(), pool_min=0) as hub:
        client = hub.client()
        assert (await client.get("/health")).status_code == 200
        admin = await asyncpg.connect(
            hub_dsn.replace(hub_dsn.split("/")[3].split("?")[0], "postgres")
        )
        try:
            name = hub_dsn.split("/")[3].split("?")[0]
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                name,
            )
            r = await client.get("/health")
            assert r.status_code == 503 and r.json()["status"] == "unavailable"
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            deadline = time.monotonic() + 10
            while (await client.get("/health")).status_code != 200:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
        finally:
            await admin.close()


CANARIES = ("CANARY-one-7f3a", "CANARY-two-91bc", "CANARY-three-c0de")


async def test_no_plaintext_of_sensitive_memories_at_rest(hub: HubHarness, pg: PgCluster) -> None:
    alice = hub.client("alice")
    ids = []
    for canary in CANARIES[:2]:
        r = await alice.post(
            "/api/memories", json={"content": f"vault root token {canary}", "force_sensitive": True}
        )
        ids.append(r.json()["id"])
    r = await alice.post("/api/memories", json={"content": "plain note"})
    await alice.put(f"/api/memories/{r.json()['id']}", json={"content": f"password={CANARIES[2]}"})
    rep = replica()
    sealed = sealed_put(
        rep, 1, uuid7(), hub.clock.ms << 16, b"\x01" + os.urandom(40), is_sensitive=True
    )
    await alice.post("/api/sync/push", json={"replica_id": rep, "ops": [sealed]})
    for memory_id, canary in zip(ids, CANARIES, strict=False):
        got = (await alice.post(f"/api/memories/{memory_id}/secret")).json()
        assert canary in got["content"]  # still readable by its owner
    conn = await asyncpg.connect(hub.settings.database_url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        assert {"memories", "ops", "tombstones", "hub_users"} <= set(tables)
        dump = []
        for table in tables:
            rows = await conn.fetch(f'SELECT t::text AS row FROM "{table}" t')
            dump.extend(r["row"] for r in rows)
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    text = "\n".join(dump)
    assert "plain note" in text  # the dump does see content (the check can fail)
    for canary in CANARIES:
        assert canary not in text
    # The files of the whole cluster, WAL included.
    needles = [c.encode() for c in CANARIES]
    for path in pg.data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(n in data for n in needles), path


class _FakeVault(BaseHTTPRequestHandler):
    """Vault's transit encrypt/decrypt, with a reversible fake 'cipher'."""

    calls: list[str] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers.get("X-Vault-Token") != "vault-token":
            self.send_response(403)
            self.end_headers()
            return
        _FakeVault.calls.append(self.path)
        if self.path == "/v1/transit/encrypt/memory-hub":
            data = {"ciphertext": "vault:v1:" + body["plaintext"][::-1]}
        elif self.path == "/v1/transit/decrypt/memory-hub":
            data = {"plaintext": body["ciphertext"].removeprefix("vault:v1:")[::-1]}
        else:
            self.send_response(404)
            self.end_headers()
            return
        out = json.dumps({"data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_vault() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeVault)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_vault_transit_seals_sensitive_memories(hub_dsn: str, fake_vault: str) -> None:
    vault = {"encryption_key": None, "vault_addr": fake_vault, "vault_token": "vault-token"}
    async with running_hub(hub_dsn, FakeClock(), **vault) as hub:
        client = hub.client("alice")
        r = await client.post("/api/memories", json={"content": "aws key AKIAABCDEFGHIJKLMNOP"})
        memory_id = r.json()["uuid"]
        assert r.json()["is_sensitive"] is True
        got = (await client.post(f"/api/memories/{memory_id}/secret")).json()
        assert got["content"] == "aws key AKIAABCDEFGHIJKLMNOP" and got["source"] == "vault"
    assert "/v1/transit/encrypt/memory-hub" in _FakeVault.calls
    conn = await asyncpg.connect(hub_dsn)
    try:
        blob = await conn.fetchval("SELECT secret FROM memories WHERE id = $1", memory_id)
    finally:
        await conn.close()
    assert bytes(blob).startswith(b"vault:v1:") and b"AKIA" not in bytes(blob)


async def test_without_encryption_a_sensitive_memory_is_refused_not_lost(hub_dsn: str) -> None:
    async with running_hub(hub_dsn, FakeClock(), encryption_key=None) as hub:
        client = hub.client("alice")
        r = await client.post("/api/memories", json={"content": "password=SuperSecret99"})
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "sensitive_not_stored"
        assert (await client.get("/api/memories")).json()["total"] == 0
