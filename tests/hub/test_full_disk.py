"""The hub on a full disk: PostgreSQL cannot extend a table, and the hub answers 507
`disk_full` (never a 500), keeps answering reads, loses nothing it acknowledged, and writes again
once there is room. The hub's database lives in a tablespace on a small tmpfs that the test
fills; PostgreSQL's WAL stays on the ordinary disk, as on a server whose data volume fills up."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from memory_core.ids import uuid7
from tests.conftest import FakeClock
from tests.disk import fill, mount_tmpfs
from tests.hub.ops import put, replica
from tests.hubs import running_hub
from tests.pg import PgCluster
from tests.support import short_tmpdir

SIZE = "32m"  # a new database copies template1 (~8 MB) into the tablespace


@pytest.fixture
async def small_disk_dsn(pg: PgCluster) -> AsyncIterator[tuple[str, Path]]:
    """A fresh database whose tables live on a tmpfs of SIZE, and that tmpfs's root."""
    root = short_tmpdir("pgdisk")
    if not mount_tmpfs(root, SIZE):
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip("mounting a tmpfs needs root (or CAP_SYS_ADMIN); this machine has neither")
    name = f"full_{os.getpid()}_{secrets.token_hex(4)}"
    space = root / "space"
    space.mkdir()
    if os.geteuid() == 0:  # the cluster runs as `nobody` under root (tests/pg.py)
        entry = pwd.getpwnam("nobody")
        os.chown(space, entry.pw_uid, entry.pw_gid)
        os.chmod(root, 0o755)
    conn = await asyncpg.connect(**pg.connect_kwargs())
    try:
        await conn.execute(f"CREATE TABLESPACE {name} LOCATION '{space}'")
        await conn.execute(f'CREATE DATABASE "{name}" TABLESPACE {name}')
        yield pg.dsn(name), root
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f"DROP TABLESPACE IF EXISTS {name}")
        await conn.close()
        if subprocess.run(["umount", str(root)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(root)], check=False)
        shutil.rmtree(root, ignore_errors=True)


async def test_a_full_disk_is_a_507_and_nothing_acknowledged_is_lost(
    small_disk_dsn: tuple[str, Path],
) -> None:
    dsn, root = small_disk_dsn
    async with running_hub(dsn, FakeClock()) as hub:
        alice = hub.client("alice")
        kept = [(await alice.post("/api/memories", json={"content": "tabs, not spaces"})).json()]
        fill(root / "filler")
        refused = None
        for n in range(2000):  # until PostgreSQL needs a page it cannot have
            answer = await alice.post(
                "/api/memories", json={"content": f"note {n}: " + "lorem ipsum " * 100}
            )
            if answer.status_code != 200:
                refused = answer
                break
            kept.append(answer.json())
        assert refused is not None, "the disk never filled"
        assert refused.status_code == 507, refused.text
        assert refused.json()["error"]["code"] == "disk_full"
        assert "disk is full" in refused.json()["error"]["message"]

        # A replica's push is refused the same way; it keeps its ops and pushes them again.
        rep, hlc = replica(), hub.clock.ms << 16
        ops = [
            put(rep, i + 1, uuid7(), hlc + i, content=f"pushed {i} " + "x" * 1000)
            for i in range(200)
        ]
        pushed = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": ops})
        assert pushed.status_code == 507, pushed.text
        assert pushed.json()["error"]["code"] == "disk_full"

        listed = await alice.get("/api/memories", params={"limit": 100})
        assert listed.status_code == 200
        assert listed.json()["total"] == len(kept)

        (root / "filler").unlink()
        again = await alice.post("/api/memories", json={"content": "room again"})
        assert again.status_code == 200, again.text
        ids = {
            m["id"]
            for m in (await alice.get("/api/memories", params={"limit": 100})).json()["memories"]
        }
        assert {m["id"] for m in kept} | {again.json()["id"]} <= ids
        retried = await alice.post("/api/sync/push", json={"replica_id": rep, "ops": ops})
        assert retried.status_code == 200, retried.text
        assert {a["status"] for a in retried.json()["acks"]} == {"inserted"}
