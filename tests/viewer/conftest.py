from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.hooks.fake_anthropic import FakeAnthropic, fake_anthropic
from tests.support import Daemon, running_daemon
from tests.viewer.site import Site, chromium, start_site


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


@pytest.fixture(scope="module")
def site(daemon: Daemon) -> Site:
    return start_site(daemon)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[WebDriver]:
    """One headless Chromium per module, logged in to the viewer."""
    with chromium() as driver:
        driver.get(site.login_url())
        yield driver
