"""A memory's page lists its typed links both ways, in a real headless Chromium against a real
daemon, and on the hub's /ui (in process, real PostgreSQL). Before, the page read a `links`
field that no server's memory answer carries, so typed links were never shown."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.conftest import FakeClock
from tests.hubs import HubHarness
from tests.support import Daemon
from tests.viewer.site import Site, remember
from tests.viewer.test_hub import hub, logged_in
from tests.viewer.test_hub import remember as remember_on_hub
from tests.viewer.test_link_history_page import link

__all__ = ["hub"]  # the hub fixture, imported for the second test


def test_a_memorys_page_shows_the_links_made_to_it(
    site: Site, daemon: Daemon, browser: WebDriver
) -> None:
    step = remember(daemon, "Drain the ingest queue before a restart")
    incident = remember(daemon, "Ingest stalled on Tuesday; fixed by draining the queue")
    link(daemon, incident, step, "resolved-by")
    browser.get(f"{site.base}/memories/{step}")
    incoming = browser.find_element(By.CSS_SELECTOR, "ul.links li.link-in")
    assert incoming.text.startswith(incident[:23])
    assert incoming.text.endswith("→ resolved-by → this one")
    assert not browser.find_elements(By.CSS_SELECTOR, "ul.links li.link-out")
    incoming.find_element(By.TAG_NAME, "a").click()
    assert browser.current_url.endswith(f"/memories/{incident}")
    outgoing = browser.find_element(By.CSS_SELECTOR, "ul.links li.link-out")
    assert outgoing.text.startswith(f"resolved-by {step[:23]}")


async def test_the_hub_memory_page_shows_its_links(hub: HubHarness[FakeClock]) -> None:
    runbook = await remember_on_hub(hub, "alice", "Runbook: rotating the TLS certificates")
    step = await remember_on_hub(hub, "alice", "Renew the wildcard certificate first")
    linked = await hub.client("alice").post(
        f"/api/memories/{step}/links", json={"target_id": runbook, "link_type": "part-of"}
    )
    assert linked.status_code in (200, 201), linked.text
    alice, _ = await logged_in(hub, "alice")
    page = await alice.get(f"/ui/memories/{step}")
    assert page.status_code == 200
    assert (
        f'<li class="link link-out" data-type="part-of">part-of <a href="/ui/memories/{runbook}">'
        in page.text
    )
    target = await alice.get(f"/ui/memories/{runbook}")
    assert (
        f'<li class="link link-in" data-type="part-of"><a href="/ui/memories/{step}">'
        in target.text
    )
