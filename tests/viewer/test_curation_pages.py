"""The viewer's curation pages in a real headless Chromium against a real daemon: a session's
injections (and opening one to fix it), a memory's history, delete and restore from the trash,
marking as superseded, the per-project learn pause, and the per-day charts. With
MEMORYD_SCREENSHOTS set, each page is saved as a PNG (docs/viewer/)."""

from __future__ import annotations

from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.cli.test_cli import original_db
from tests.hooks.helpers import hook_event, prompt_event, session_start_event
from tests.support import Daemon, short_tmpdir
from tests.viewer.site import Site, remember, screenshot
from tests.viewer.test_pages import api_memory, wait_for


def main_text(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "main").text)


def test_a_sessions_injections_and_fixing_one(
    site: Site, daemon: Daemon, browser: WebDriver, tmp_path: Path
) -> None:
    repo = tmp_path / "kiosk"
    (repo / ".git").mkdir(parents=True)
    standing = remember(
        daemon,
        "The kiosk app is written in Rust with the Slint toolkit",
        category="decisions",
        importance=0.9,
        project="kiosk",
    )
    client = daemon.client()
    start = session_start_event("sess-kiosk", "startup", str(repo))
    assert client.post("/api/hooks/session-start", json=start).status_code == 200
    # Stored after the session started: not in its profile, so a prompt brings it.
    wrong = remember(
        daemon,
        "Kiosk receipts are printed on the Epson TM-T20 thermal printer over USB",
        project="kiosk",
    )
    prompt = "why do kiosk receipts not print on the thermal printer over usb?"
    asked = client.post("/api/hooks/prompt", json=prompt_event("sess-kiosk", prompt, str(repo)))
    assert asked.status_code == 200

    browser.get(f"{site.base}/sessions")
    row = browser.find_element(By.CSS_SELECTOR, "tr.session[data-session='sess-kiosk']")
    assert "kiosk" in row.text
    screenshot(browser, "sessions")
    row.find_element(By.TAG_NAME, "a").click()
    wait_for(browser, lambda d: "/sessions/sess-kiosk" in d.current_url)
    start_event = browser.find_element(By.CSS_SELECTOR, "section.event[data-hook='start']")
    assert "Rust with the Slint toolkit" in start_event.text
    prompt_event_box = browser.find_element(By.CSS_SELECTOR, "section.event[data-hook='prompt']")
    assert prompt in prompt_event_box.text
    injected = prompt_event_box.find_element(By.CSS_SELECTOR, f"tr.injected[data-id='{wrong}']")
    assert "Epson TM-T20" in injected.text and "lexical ✓" in injected.text
    assert " / " in injected.find_element(By.CSS_SELECTOR, "td:nth-child(2)").text  # vs floor
    assert standing  # shown at start, so not injected again for the prompt
    screenshot(browser, "session")
    compacted = hook_event("PreCompact", "sess-kiosk", str(repo))
    assert client.post("/api/hooks/pre-compact", json=compacted).status_code == 200
    resumed = session_start_event("sess-kiosk", "compact", str(repo))
    assert client.post("/api/hooks/session-start", json=resumed).status_code == 200
    browser.refresh()
    recovery = browser.find_element(By.CSS_SELECTOR, "section.event[data-hook='recovery']")
    assert "After compaction" in recovery.text and "saved before the compaction" in recovery.text
    injected = browser.find_element(By.CSS_SELECTOR, f"tr.injected[data-id='{wrong}']")

    # A bad injection is fixed where it is shown: open the memory and edit it.
    injected.find_element(By.CSS_SELECTOR, "a.open").click()
    wait_for(browser, lambda d: f"/memories/{wrong}" in d.current_url)
    content = browser.find_element(By.CSS_SELECTOR, "form.edit textarea[name='content']")
    content.clear()
    content.send_keys("Kiosk receipts are printed on the Star TSP143 printer over USB")
    browser.find_element(By.CSS_SELECTOR, "form.edit button[type='submit']").click()
    wait_for(browser, lambda d: "Saved." in main_text(d))
    assert "Star TSP143" in api_memory(daemon, wrong)["content"]


def test_history_then_delete_and_restore_from_the_trash(
    site: Site, daemon: Daemon, browser: WebDriver
) -> None:
    memory_id = remember(daemon, "The office wifi is called heron-5", tags=["office"])
    browser.get(f"{site.base}/memories/{memory_id}")
    content = browser.find_element(By.CSS_SELECTOR, "form.edit textarea[name='content']")
    content.clear()
    content.send_keys("The office wifi is called heron-6")
    browser.find_element(By.CSS_SELECTOR, "form.edit button[type='submit']").click()
    wait_for(browser, lambda d: "Saved." in main_text(d))
    versions = browser.find_elements(By.CSS_SELECTOR, "table.history tr.version")
    assert [v.get_attribute("data-origin") for v in versions] == ["viewer", "manual"]
    assert "an edit in the viewer" in versions[0].text and "heron-6" in versions[0].text
    assert "stored by hand" in versions[1].text and "heron-5" in versions[1].text
    assert "this machine" in versions[0].text
    screenshot(browser, "history")

    browser.find_element(By.CSS_SELECTOR, "button[name='delete']").click()
    wait_for(browser, lambda d: d.switch_to.alert).accept()
    wait_for(browser, lambda d: "deleted=" in d.current_url)
    browser.get(f"{site.base}/trash")
    row = browser.find_element(By.CSS_SELECTOR, f"tr.trashed[data-id='{memory_id}']")
    assert "heron-6" in row.text and "this machine" in row.text
    screenshot(browser, "trash")
    row.find_element(By.CSS_SELECTOR, "button.restore").click()
    wait_for(browser, lambda d: "restored=" in d.current_url)
    link = browser.find_element(By.CSS_SELECTOR, "p.flash a")
    restored_id = (link.get_attribute("href") or "").rsplit("/", 1)[-1]
    assert restored_id and restored_id != memory_id
    restored = api_memory(daemon, restored_id)
    assert restored["content"] == "The office wifi is called heron-6"
    assert restored["tags"] == ["office"]
    assert daemon.client().get(f"/api/memories/{memory_id}").status_code == 404
    assert not browser.find_elements(By.CSS_SELECTOR, f"tr.trashed[data-id='{memory_id}']")
    link.click()
    wait_for(browser, lambda d: restored_id in d.current_url)
    version = browser.find_element(By.CSS_SELECTOR, "table.history tr.version")
    assert "restored from the trash" in version.text


def test_mark_as_superseded(site: Site, daemon: Daemon, browser: WebDriver) -> None:
    older = remember(daemon, "Standups are at 9:30")
    newer = remember(daemon, "Standups moved to 10:00 from March")
    browser.get(f"{site.base}/memories/{older}")
    browser.find_element(By.CSS_SELECTOR, "form.supersede input[name='by']").send_keys(newer)
    browser.find_element(By.CSS_SELECTOR, "form.supersede button").click()
    wait_for(browser, lambda d: "Marked as superseded." in main_text(d))
    superseded = browser.find_element(By.CSS_SELECTOR, "ul.links li.superseded")
    assert newer[:23] in superseded.text
    assert api_memory(daemon, newer)["supersedes"] == older
    browser.get(f"{site.base}/memories/{newer}")
    assert f"Supersedes {older[:23]}" in browser.find_element(By.CSS_SELECTOR, "ul.links").text


def test_pause_learning_per_project(
    site: Site, daemon: Daemon, browser: WebDriver, tmp_path: Path
) -> None:
    remember(daemon, "The aviary project feeds the birds at noon", project="aviary")
    repo = tmp_path / "aviary"
    (repo / ".git").mkdir(parents=True)
    browser.get(f"{site.base}/learned")
    row = browser.find_element(By.CSS_SELECTOR, "tr.pause[data-project='aviary']")
    assert "learning" in row.text
    row.find_element(By.CSS_SELECTOR, "button.switch").click()
    wait_for(
        browser,
        lambda d: (
            "paused since"
            in d.find_element(By.CSS_SELECTOR, "tr.pause[data-project='aviary']").text
        ),
    )
    assert "aviary" in daemon.client().get("/api/learn/paused").json()["paused"]
    screenshot(browser, "pause")

    transcript = tmp_path / "aviary.jsonl"
    transcript.write_text("")
    event = hook_event("Stop", "aviary-1", str(repo), stop_hook_active=False)
    event["transcript_path"] = str(transcript)
    assert daemon.client().post("/api/hooks/stop", json=event).json()["queued"] is False

    browser.find_element(By.CSS_SELECTOR, "tr.pause[data-project='aviary'] button.switch").click()
    wait_for(
        browser,
        lambda d: (
            "paused since"
            not in d.find_element(By.CSS_SELECTOR, "tr.pause[data-project='aviary']").text
        ),
    )
    assert daemon.client().get("/api/learn/paused").json()["paused"] == {}


def test_status_charts_per_day(site: Site, daemon: Daemon, browser: WebDriver) -> None:
    for _ in range(3):
        daemon.client().post("/api/memories/recall", json={"context": "wifi"})
    browser.get(f"{site.base}/status")
    uses = browser.find_element(By.ID, "daily-uses")
    series = {
        e.get_attribute("data-series")
        for e in uses.find_elements(By.CSS_SELECTOR, "polyline.series")
    }
    assert "recalls" in series
    latency = browser.find_element(By.ID, "daily-latency")
    series = {
        e.get_attribute("data-series")
        for e in latency.find_elements(By.CSS_SELECTOR, "polyline.series")
    }
    assert {"recall p50", "recall p95"} <= series
    screenshot(browser, "status")


def test_import_of_an_original_database_through_the_viewer(site: Site, daemon: Daemon) -> None:
    """The viewer sends a memory.db with its own content type: that header used to collide
    with the session's (a TypeError, so a 500 page) and nothing was imported."""
    raw = original_db(short_tmpdir()).read_bytes()
    client = site.client()
    answer = client.post(
        "/import",
        data={"csrf": site.csrf(client)},
        files={"file": ("memory.db", raw, "application/octet-stream")},
        headers={"origin": site.base},
    )
    assert answer.status_code == 200, answer.text
    listed = daemon.client().get("/api/memories", params={"limit": 1000}).json()["memories"]
    assert "I prefer Svelte for new frontends" in {m["content"] for m in listed}
