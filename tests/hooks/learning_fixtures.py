"""Module-scoped fixtures for tests that need auto-learn judging: the fake Messages API and one
real daemon that uses it. A module or conftest imports `fake` and `daemon` to use them (pytest
finds fixtures among a module's names)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hooks.fake_anthropic import FakeAnthropic, fake_anthropic
from tests.support import Daemon, running_daemon


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropic]:
    """The Anthropic API as auto-learn sees it: a local fake (tests/hooks/fake_anthropic.py)."""
    with fake_anthropic() as running:
        yield running


@pytest.fixture(scope="module")
def daemon(fake: FakeAnthropic) -> Iterator[Daemon]:
    """One real daemon per module, auto-learn judging with the fake model."""
    with running_daemon(**fake.daemon_env(), MEMORY_AUTO_LEARN="1") as running:
        yield running
