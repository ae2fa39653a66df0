from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.hooks import learning_fixtures
from tests.support import Daemon
from tests.viewer.site import Site, chromium, start_site

# The module-scoped fake model and auto-learning daemon (tests/hooks/learning_fixtures.py).
fake = learning_fixtures.fake
daemon = learning_fixtures.daemon


@pytest.fixture(scope="module")
def site(daemon: Daemon) -> Site:
    return start_site(daemon)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[WebDriver]:
    """One headless Chromium per module, logged in to the viewer."""
    with chromium() as driver:
        driver.get(site.login_url())
        yield driver
