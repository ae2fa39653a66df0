"""The viewer as the tests reach it: started in a real daemon through POST /api/viewer (what
`memory ui` sends), logged in with its one-time link, by httpx over loopback TCP or by a real
headless Chromium from Debian's packages through selenium.

The browser never downloads anything: Selenium Manager is told to stay offline and is given
/usr/bin/chromium and /usr/bin/chromedriver; `make pytest` installs those packages
(`make browser-tools`)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from tests.support import REPO, Daemon, short_tmpdir

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)
# Set (e.g. MEMORYD_SCREENSHOTS=docs/viewer) to have the browser tests save a PNG per page.
SCREENSHOTS = os.environ.get("MEMORYD_SCREENSHOTS", "")


@dataclass
class Site:
    """The viewer of one daemon."""

    daemon: Daemon
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def login_url(self) -> str:
        """A fresh one-time link, as `memory ui` gets it."""
        answer = self.daemon.client().post("/api/viewer", json={})
        assert answer.status_code == 200, answer.text
        url: str = answer.json()["url"]
        return url

    def client(self) -> httpx.Client:
        """An httpx client holding a session cookie (it followed a one-time link)."""
        client = httpx.Client(base_url=self.base, timeout=30)
        self.daemon.clients.append(client)
        opened = client.get(self.login_url(), follow_redirects=True)
        assert opened.status_code == 200, opened.text
        return client

    def csrf(self, client: httpx.Client) -> str:
        page = client.get("/").text
        found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
        assert found is not None
        return found.group(1)


def remember(daemon: Daemon, content: str, **fields: Any) -> str:
    """Store a memory through the daemon's API; its id."""
    answer = daemon.client().post("/api/memories", json={"content": content, **fields})
    assert answer.status_code == 201, answer.text
    memory_id: str = answer.json()["id"]
    return memory_id


def start_site(daemon: Daemon) -> Site:
    answer = daemon.client().post("/api/viewer", json={})
    assert answer.status_code == 200, answer.text
    return Site(daemon, int(answer.json()["port"]))


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """Debian's headless Chromium with a fresh profile, driven by Debian's chromedriver."""
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), (
        "chromium and chromium-driver are missing: `make browser-tools` installs them"
    )
    profile = short_tmpdir("chrome")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    previous = os.environ.get("SE_OFFLINE")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not fetch a browser or driver
    try:
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    finally:
        if previous is None:
            os.environ.pop("SE_OFFLINE", None)
        else:
            os.environ["SE_OFFLINE"] = previous
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver: WebDriver, name: str) -> None:
    """Save the page as docs/viewer/<name>.png when MEMORYD_SCREENSHOTS asks for it."""
    if not SCREENSHOTS:
        return
    folder = Path(SCREENSHOTS)
    folder = folder if folder.is_absolute() else REPO / folder
    folder.mkdir(parents=True, exist_ok=True)
    # The whole page, not only the window: as tall as its content.
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(600, min(int(height) + 40, 2400)))
    driver.save_screenshot(str(folder / f"{name}.png"))
    driver.set_window_size(1280, 900)
