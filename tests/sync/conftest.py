"""Sync tests run against the real hub on a real PostgreSQL: a fresh, migrated database per test
(or a reset per hypothesis example) in the session's one cluster (`pg`, tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.pg import PgCluster
from tests.sync.realhub import new_database


@pytest.fixture
async def hub_dsn(pg: PgCluster) -> str:
    return await new_database(pg)
