"""Sync tests run against the real hub on a real PostgreSQL: one throwaway cluster per
session, a fresh database per test (or a TRUNCATE per hypothesis example)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg import PgCluster, pg_cluster
from tests.sync.realhub import new_database


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster]:
    with pg_cluster() as cluster:
        yield cluster


@pytest.fixture
async def hub_dsn(pg: PgCluster) -> str:
    return await new_database(pg)
