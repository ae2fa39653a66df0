"""Typed links on a memory's page in a real headless Chromium against a real daemon: the
links it has now, each link and unlink in its history (added or removed, the type and the
other memory, a sensitive one by its placeholder only), and a restore from the trash that
says which links it could not bring back."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.support import Daemon
from tests.viewer.site import Site, remember, screenshot
from tests.viewer.test_curation_pages import main_text
from tests.viewer.test_pages import wait_for

SECRET = "ghp_" + "Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8V"  # detected as a secret


def link(daemon: Daemon, src: str, dst: str, kind: str) -> None:
    body = {"target_id": dst, "link_type": kind}
    answer = daemon.client().post(f"/api/memories/{src}/links", json=body)
    assert answer.status_code == 200, answer.text


def test_link_changes_in_the_history_and_a_restore_that_drops_one(
    site: Site, daemon: Daemon, browser: WebDriver
) -> None:
    outage = remember(daemon, "The gateway outage came from a full disk on gw-3")
    epic = remember(daemon, "The gateway hardening epic")
    alert = remember(daemon, "Disk alerts for gw hosts fire at 80 percent")
    vault = remember(daemon, f"The gw-3 console login is root with token {SECRET}")
    link(daemon, outage, alert, "see-also")
    link(daemon, outage, epic, "part-of")
    link(daemon, outage, vault, "see-also")
    assert daemon.client().delete(f"/api/memories/{outage}/links/{alert}/see-also").is_success

    browser.get(f"{site.base}/memories/{outage}")
    now = browser.find_element(By.CSS_SELECTOR, "ul.links").text
    assert f"part-of {epic[:23]}" in now and "gateway hardening epic" in now
    assert alert[:23] not in now
    versions = browser.find_elements(By.CSS_SELECTOR, "table.history tr.version")
    assert [v.get_attribute("data-change") for v in versions] == [
        "changed",
        "changed",
        "changed",
        "changed",
        "created",
    ]
    removed = versions[0].find_element(By.CSS_SELECTOR, "li.link-removed")
    assert "removed see-also" in removed.text and alert[:23] in removed.text
    assert "Disk alerts for gw hosts" in removed.text
    added = versions[2].find_element(By.CSS_SELECTOR, "li.link-added")
    assert "added part-of" in added.text and "gateway hardening epic" in added.text
    sealed = versions[1].find_element(By.CSS_SELECTOR, "li.link-added")
    assert vault[:23] in sealed.text
    page = main_text(browser)
    assert "console login" not in page and SECRET not in page  # issue 17: placeholder only
    screenshot(browser, "history-links")

    # The alert is deleted: the history says so, and a restore cannot bring its link back.
    link(daemon, outage, alert, "resolved-by")
    assert daemon.client().delete(f"/api/memories/{alert}").is_success
    browser.refresh()
    latest = browser.find_element(By.CSS_SELECTOR, "table.history tr.version li.link-added")
    assert "added resolved-by" in latest.text and "(deleted)" in latest.text

    assert daemon.client().delete(f"/api/memories/{outage}").is_success
    browser.get(f"{site.base}/trash")
    row = browser.find_element(By.CSS_SELECTOR, f"tr.trashed[data-id='{outage}']")
    assert "3 links" in row.text
    row.find_element(By.CSS_SELECTOR, "button.restore").click()
    wait_for(browser, lambda d: "restored=" in d.current_url)
    flash = browser.find_element(By.CSS_SELECTOR, "p.flash").text
    assert "1 link to a memory deleted since was not restored" in flash
    restored = browser.find_element(By.CSS_SELECTOR, "p.flash a").get_attribute("href") or ""
    links = daemon.client().get(f"/api/memories/{restored.rsplit('/', 1)[-1]}/links").json()
    assert {(x["type"], x["id"]) for x in links["links_out"]} == {
        ("part-of", epic),
        ("see-also", vault),
    }
