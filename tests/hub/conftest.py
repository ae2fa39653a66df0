"""The hub in process for each test, on its own fresh database (`hub_dsn`, tests/conftest.py),
with a clock the test moves: tests.hubs.HubHarness."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import FakeClock
from tests.hubs import HubHarness, running_hub


@pytest.fixture
async def hub(hub_dsn: str) -> AsyncIterator[HubHarness[FakeClock]]:
    async with running_hub(hub_dsn, FakeClock()) as harness:
        yield harness
