"""The original project's clients against a real `memory-hub serve` process (`hub_server`,
tests/conftest.py) over a fresh database of the real PostgreSQL cluster."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.contract_original.client import HttpOnlyTools, OriginalApi
from tests.contract_original.machine import Machine
from tests.hubs import KEYS
from tests.support import HubServer, short_tmpdir


@pytest.fixture
def api(hub_server: HubServer) -> OriginalApi:
    return OriginalApi(hub_server.url, KEYS["alice"])


@pytest.fixture
def tools(api: OriginalApi) -> HttpOnlyTools:
    return HttpOnlyTools(api)


@pytest.fixture
def machine(hub_server: HubServer) -> Iterator[Callable[[str], Machine]]:
    """Machines of the original in hybrid mode, each its own cache, for a user."""
    made: list[Machine] = []
    directory = short_tmpdir("orig")

    def make(user: str = "alice") -> Machine:
        path = directory / f"machine{len(made)}.db"
        made.append(Machine(path, OriginalApi(hub_server.url, KEYS[user])))
        return made[-1]

    yield make
    for one in made:
        one.close()
