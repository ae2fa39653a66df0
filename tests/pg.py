"""An ephemeral PostgreSQL cluster for tests: initdb + pg_ctl in a temporary directory.

The cluster listens only on a Unix socket in its own directory, so concurrent test runs never
fight over a TCP port. initdb refuses to run as root, so as root the cluster is created and run
as the unprivileged `nobody` user. `make test` installs Debian's `postgresql` package when no
binaries are found (see .ci/install-postgresql).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PORT = 5432


def find_bin_dir() -> Path:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    raise RuntimeError(
        "PostgreSQL binaries (initdb, pg_ctl) not found; `make test` installs them "
        "(Debian package `postgresql`), or put them in PATH"
    )


@dataclass
class PgCluster:
    base: Path
    bin_dir: Path
    superuser: str = "postgres"

    @property
    def socket_dir(self) -> Path:
        return self.base

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.superuser}@/{database}?host={self.socket_dir}&port={PORT}"

    def connect_kwargs(self, database: str = "postgres") -> dict[str, Any]:
        return {
            "host": str(self.socket_dir),
            "port": PORT,
            "user": self.superuser,
            "database": database,
        }


def _run_as(user: str | None, args: list[str]) -> None:
    result = subprocess.run(
        args,
        user=user,
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{args[0]} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )


@contextmanager
def pg_cluster() -> Iterator[PgCluster]:
    """Start a throwaway cluster (fsync off: tests only) and remove it afterwards."""
    bin_dir = find_bin_dir()
    base = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp"))
    run_user = None
    if os.geteuid() == 0:
        run_user = "nobody"
        entry = pwd.getpwnam(run_user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    os.chmod(base, 0o700)
    cluster = PgCluster(base=base, bin_dir=bin_dir)
    try:
        _run_as(
            run_user,
            [
                str(bin_dir / "initdb"),
                "-D",
                str(cluster.data_dir),
                "-U",
                cluster.superuser,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )
        options = (
            f"-p {PORT} -k {base} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
            "-c shared_buffers=64MB"
        )
        _run_as(
            run_user,
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(cluster.data_dir),
                "-o",
                options,
                "-l",
                str(base / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        yield cluster
    finally:
        if (cluster.data_dir / "postmaster.pid").exists():
            subprocess.run(
                [str(bin_dir / "pg_ctl"), "-D", str(cluster.data_dir), "-m", "immediate", "stop"],
                user=run_user,
                capture_output=True,
                timeout=60,
                cwd="/",
                check=False,
            )
        shutil.rmtree(base, ignore_errors=True)


async def create_database(cluster: PgCluster, name: str) -> str:
    """A fresh database in the cluster; returns its DSN."""
    import asyncpg

    conn = await asyncpg.connect(**cluster.connect_kwargs())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return cluster.dsn(name)
