from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

import pytest

from memory_core.crypto.aead import Cipher
from memoryd import semantic
from memoryd.store.db import Database
from memoryd.store.memories import MemoryStore
from tests.hubs import hub_env
from tests.pg import PgCluster, create_database, pg_cluster
from tests.support import CLAUDE_CLI, Daemon, HubServer, running_daemon


class FakeClock:
    """A wall clock the test moves: by hand (`advance`), or by each of `steps` in turn as it is
    read (then it stands still), for properties that must hold whatever the clock does."""

    def __init__(self, start_ms: int = 1_790_000_000_000, steps: Iterable[int] = ()) -> None:
        self.ms = start_ms
        self._steps = iter(steps)

    def now_ms(self) -> int:
        self.ms += next(self._steps, 0)
        return self.ms

    def advance(self, ms: int) -> None:
        self.ms += ms


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "requires_claude_cli: drives the real Claude Code CLI (tests.support.CLAUDE_CLI)",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked `requires_claude_cli` skips, saying so, where the CLI is not installed (it
    needs npm); `make test` sets MEMORYD_REQUIRE_CLAUDE_CLI=1 whenever it installed the CLI,
    which turns a missing binary into a failure instead."""
    if item.get_closest_marker("requires_claude_cli") is None or CLAUDE_CLI.exists():
        return
    if os.environ.get("MEMORYD_REQUIRE_CLAUDE_CLI") == "1":
        pytest.fail(f"the Claude Code CLI is required but missing at {CLAUDE_CLI}")
    pytest.skip(
        f"Claude Code CLI not installed at {CLAUDE_CLI} (needs npm; `make test` installs it)"
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[MemoryStore]:
    """A real store on a temporary SQLite file, in-process."""
    db = Database(tmp_path / "memory.db")
    await db.open()
    store = MemoryStore(db, Cipher(b"k" * 32), clock, max_content_chars=1400)
    await store.load_clock()
    try:
        yield store
    finally:
        await db.close()


@pytest.fixture(scope="session", autouse=True)
def cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every daemon of the session keeps its cache (the semantic leg's int8 query model and
    static query table) in one temporary XDG_CACHE_HOME, never the user's; both are built there
    once, up front, so that daemons stopped seconds after starting do not each begin those
    builds (2 s and ~16 s of one core)."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        if semantic.installed():
            from memoryd.semantic import builds, quantize, static
            from memoryd.semantic.model import packaged

            async def build() -> None:
                model = packaged()
                await quantize.ensure(cache / "memoryd", model)
                await builds.ensure_built(
                    static.cached_table(cache / "memoryd", model),
                    "memoryd.semantic.static",
                    *static.build_args(model),
                )

            asyncio.run(build())
        yield cache


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster]:
    """The session's one throwaway PostgreSQL cluster, shared by tests/hub, tests/sync and
    tests/remote: defined here once, because each conftest that defines its own session fixture
    starts its own cluster. Tests never share a database: each takes a fresh one (`hub_dsn`)."""
    with pg_cluster() as cluster:
        yield cluster


@pytest.fixture
async def hub_dsn(pg: PgCluster) -> str:
    """A fresh, empty database of its own in the session's cluster, for this test's hub: the
    hub's lifespan (in process or `memory-hub serve`) or `memory-hub migrate` creates its
    tables."""
    return await create_database(pg, f"hub_{os.getpid()}_{secrets.token_hex(4)}")


@pytest.fixture
def hub_server(hub_dsn: str) -> Iterator[HubServer]:
    """A real `memory-hub serve` process on a loopback port over this test's database, migrated
    first with `memory-hub migrate` (tests.hubs: its users and keys); stop() then start() again
    keeps its port and its data."""
    server = HubServer(hub_env(hub_dsn))
    migrated = server.migrate()
    assert migrated.returncode == 0, migrated.stderr
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(server.log.parent, ignore_errors=True)


@pytest.fixture
def daemon() -> Iterator[Daemon]:
    """A real `memoryd serve` process on a temporary socket and MEMORY_HOME."""
    with running_daemon() as running:
        yield running


@pytest.fixture(scope="module")
def shared_daemon() -> Iterator[Daemon]:
    """One real `memoryd serve` process for all the tests of a module, each storing memories of
    its own: for tests that read back only what they stored."""
    with running_daemon() as running:
        yield running
