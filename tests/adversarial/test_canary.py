"""The canary scan. A run stores marked secrets in every way a secret reaches memoryd (forced
sensitive, a detected token in the content, in the tags, in the keywords, a password in plain
words, an update that adds one, through MCP, REST and import, a refused request that quotes
one, and a secret stored on the hub itself), syncs them to a real hub, and then every byte
memoryd and the hub keep is searched for them: each file under MEMORY_HOME (database, WAL,
shared memory, logs) while the daemon runs and after it stopped, an export without
--include-sensitive, a `memory backup`, the hub's log and a pg_dump of the hub's database.
Zero hits. The control: an export with --include-sensitive does hold every stored one, so the
search would see plaintext if there were any."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import string
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest

from tests.adversarial.daemons import LoggedDaemon, start_logged
from tests.hubs import KEYS, hub_env
from tests.pg import PORT, PgCluster, create_database
from tests.shim.helpers import shim
from tests.support import HubServer, short_tmpdir

MEMORY = "from memoryd.cli.memory_cmd import main; raise SystemExit(main())"


def _canary() -> str:
    """Letters and digits no test writes twice, starting differently each time (so that a
    full-text index, which stores a term after the prefix it shares with the one before it,
    still holds its tail whole)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(36))


@dataclass
class Canaries:
    """channel -> the secret text stored through it."""

    stored: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)

    def token(self, channel: str, refused: bool = False) -> str:
        value = "ghp_" + _canary()  # a GitHub token: what the detector knows
        (self.refused if refused else self.stored)[channel] = value
        return value

    def word(self, channel: str) -> str:
        # A passphrase: no format a detector knows; with digits, as "the password is hunter2".
        value = "Cnry" + _canary()[:14] + "42"
        self.stored[channel] = value
        return value


@dataclass
class Scan:
    canaries: Canaries
    artifacts: dict[str, bytes]
    full_export: bytes
    recalled: dict[str, int]  # channel -> memories recall finds for its secret

    def hits(self, secret: str) -> list[str]:
        """Where the secret (or the tail an index keeps of it) appears, case-insensitively."""
        needles = {secret.lower().encode(), secret[-14:].lower().encode()}
        return [name for name, data in self.artifacts.items() if any(n in data for n in needles)]


def _memory(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-c", MEMORY, *args], env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def _files_under(root: Path, label: str) -> dict[str, bytes]:
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            found[f"{label}:{path.relative_to(root)}"] = path.read_bytes().lower()
    return found


async def _through_mcp(daemon: LoggedDaemon, canaries: Canaries) -> None:
    async with shim(daemon.home) as client:
        for arguments in (
            {"content": f"the vault unseal phrase is {canaries.word('mcp-forced')}",
             "expanded_keywords": "vault unseal phrase secret ops", "force_sensitive": True},
            {"content": f"CI pushes with {canaries.token('mcp-detected')} as its token",
             "expanded_keywords": "continuous integration github push credentials"},
        ):  # fmt: skip
            stored = await client.call_tool("memory_store", arguments)
            assert not stored.is_error, stored.content


def _through_rest(daemon: LoggedDaemon, hub: HubServer, canaries: Canaries) -> None:
    client = daemon.client()
    writes = [
        {"content": f"admin passphrase is {canaries.word('rest-forced')} for the NAS",
         "force_sensitive": True},
        {"content": f"deploy with token {canaries.token('rest-detected')} on Fridays"},
        {"content": "the release checklist lives in the wiki",
         "tags": ["release", canaries.token("rest-tag")]},
        {"content": "rotate the signing key every quarter",
         "expanded_keywords": f"rotation schedule {canaries.token('rest-keywords')}"},
        {"content": f"the password is {canaries.word('rest-plain-words')}"},
    ]  # fmt: skip
    ids = []
    for body in writes:
        answer = client.post("/api/memories", json=body)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    control = {"content": f"the build farm is called {canaries.word('control-not-secret')}"}
    assert client.post("/api/memories", json=control).status_code == 201
    plain = client.post("/api/memories", json={"content": "the staging cluster is in eu-west-1"})
    update = {"content": f"the staging cluster token is {canaries.token('rest-update')}"}
    assert client.put(f"/api/memories/{plain.json()['id']}", json=update).status_code == 200
    items = [
        {"content": f"imported: the backup passphrase is {canaries.word('import-forced')}",
         "is_sensitive": True},
        {"content": f"imported: old token {canaries.token('import-detected')} for the mirror"},
    ]  # fmt: skip
    assert client.post("/api/memories/import", json=items).status_code == 200
    refused = {"content": f"{canaries.token('refused-daemon', refused=True)} " + "x" * 5000}
    assert client.post("/api/memories", json=refused).status_code == 422

    on_hub = hub.client(KEYS["alice"])
    direct = {"content": f"hub-side secret {canaries.word('hub-forced')}", "force_sensitive": True}
    assert on_hub.post("/api/memories", json=direct).status_code == 200
    too_long = {"content": f"{canaries.token('refused-hub', refused=True)} " + "y" * 5000}
    assert on_hub.post("/api/memories", json=too_long).status_code == 422


@pytest.fixture(scope="module")
def scan(pg: PgCluster) -> Iterator[Scan]:
    canaries = Canaries()
    name = f"hub_canary_{os.getpid()}_{secrets.token_hex(4)}"
    dsn = asyncio.run(create_database(pg, name))
    hub = HubServer(hub_env(dsn))
    assert hub.migrate().returncode == 0
    hub.start()
    daemon = start_logged(MEMORY_API_KEY=KEYS["alice"], MEMORY_API_URL=hub.url,
                          MEMORY_ENCRYPTION_KEY="0f" * 32, MEMORY_SYNC_INTERVAL="3600",
                          MEMORY_SEMANTIC="0")  # fmt: skip
    out = short_tmpdir("canary")
    try:
        _through_rest(daemon, hub, canaries)
        anyio.run(_through_mcp, daemon, canaries)
        synced = daemon.client().post("/api/sync")
        assert synced.status_code == 200 and synced.json()["ok"], synced.text
        assert synced.json()["status"]["queue_depth"] == 0  # every change is on the hub
        recalled = {
            channel: len(
                daemon.client()
                .post("/api/memories/recall", json={"context": secret})
                .json()["memories"]
            )
            for channel, secret in canaries.stored.items()
        }
        artifacts = _files_under(daemon.home, "running")  # the WAL and shared memory live
        _memory(daemon.env, "export", "-o", str(out / "export.jsonl"))
        full_export = _memory(daemon.env, "export", "--include-sensitive").stdout.encode()
        _memory(daemon.env, "backup", str(out / "backup.db"))
        assert daemon.stop() == 0
        artifacts |= _files_under(daemon.home, "stopped")
        artifacts |= _files_under(out, "out")
        artifacts["hub.log"] = hub.log.read_bytes().lower()
        dump = subprocess.run(
            [str(pg.bin_dir / "pg_dump"), "-h", str(pg.socket_dir), "-p", str(PORT),
             "-U", pg.superuser, name],
            capture_output=True, timeout=120, check=True,
        )  # fmt: skip
        artifacts["pg_dump"] = dump.stdout.lower()
        assert b"create table" in artifacts["pg_dump"]
        yield Scan(canaries, artifacts, full_export.lower(), recalled)
    finally:
        daemon.discard()
        hub.stop()
        shutil.rmtree(hub.log.parent, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)


CHANNELS = [
    "rest-forced",
    "rest-detected",
    "rest-tag",
    "rest-keywords",
    "rest-plain-words",
    "rest-update",
    "import-forced",
    "import-detected",
    "mcp-forced",
    "mcp-detected",
    "hub-forced",
]


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_stored_secret_is_nowhere_in_plaintext(scan: Scan, channel: str) -> None:
    where = scan.hits(scan.canaries.stored[channel])
    assert not where, f"the {channel} secret is in plaintext in: {', '.join(sorted(where))}"


@pytest.mark.parametrize("channel", CHANNELS)
def test_recalling_a_secret_finds_nothing(scan: Scan, channel: str) -> None:
    """Searching for the secret itself must not confirm a guess. (Recall is lexical here:
    the daemon runs with MEMORY_SEMANTIC=0, whose nearest neighbours would answer any query.)"""
    assert scan.recalled[channel] == 0


@pytest.mark.parametrize("channel", ["refused-daemon", "refused-hub"])
def test_a_refused_request_leaves_its_secret_nowhere(scan: Scan, channel: str) -> None:
    where = scan.hits(scan.canaries.refused[channel])
    assert not where, f"the {channel} secret is in: {', '.join(sorted(where))}"


def test_the_control_the_search_finds_what_an_export_of_secrets_holds(scan: Scan) -> None:
    """Every secret the daemon stored comes back whole with --include-sensitive (the tag and
    keywords ones are redacted at the door, by design), and the scan's own search finds it
    there: so zero hits above mean no plaintext, not a blind search."""
    kept = [c for c in CHANNELS if c not in ("rest-tag", "rest-keywords", "hub-forced")]
    for channel in kept:
        secret = scan.canaries.stored[channel]
        assert secret.lower().encode() in scan.full_export, channel
    # The secret stored on the hub (sealed with the hub's own key) is pulled as metadata: the
    # export says so with a null content rather than cutting its stream there.
    lines = [json.loads(line) for line in scan.full_export.splitlines()]
    assert any(m["is_sensitive"] and m["content"] is None for m in lines)
    assert set(scan.artifacts) > {"hub.log", "pg_dump"}
    assert any(name.endswith("memory.db-wal") for name in scan.artifacts)
    assert "out:backup.db" in scan.artifacts and "out:export.jsonl" in scan.artifacts
    # A word that is not a secret is found where stored memories go: each place is searched.
    where = scan.hits(scan.canaries.stored["control-not-secret"])
    assert {"out:backup.db", "out:export.jsonl", "pg_dump"} <= set(where), where
    assert any(name.startswith("running:memory/memory.db") for name in where), where
    assert scan.recalled["control-not-secret"] == 1
