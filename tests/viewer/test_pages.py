"""The viewer's pages in a real headless Chromium (Debian's), against a real daemon: search
and filters (typed live), a memory's edit, conflict and delete, an XSS payload shown as text,
undo of an auto-learned memory, the status page and an import. With MEMORYD_SCREENSHOTS set,
each page is saved as a PNG (docs/viewer/)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.hooks.fake_anthropic import FakeAnthropic
from tests.hooks.test_auto_learn import lesson, stop, write_transcript
from tests.support import Daemon
from tests.viewer.site import Site, remember, screenshot

XSS = '<script>window.pwned=1</script> and "><img src=x onerror="window.pwned=2">'


def api_memory(daemon: Daemon, memory_id: str) -> dict[str, Any]:
    found: dict[str, Any] = daemon.client().get(f"/api/memories/{memory_id}").json()
    return found


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], seconds: float = 10) -> Any:
    # The results are replaced as the user types, and a form's answer replaces the page: an
    # element read mid-swap is stale. Chromium sometimes reports that as a generic inspector
    # error ("Node with given id does not belong to the document"): stale too.
    def checked(d: WebDriver) -> Any:
        try:
            return condition(d)
        except WebDriverException as exc:
            if "does not belong to the document" in (exc.msg or ""):
                raise StaleElementReferenceException(exc.msg) from exc
            raise

    wait = WebDriverWait(
        driver, seconds, poll_frequency=0.05, ignored_exceptions=[StaleElementReferenceException]
    )
    return wait.until(checked)


def hits(driver: WebDriver) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#results .hit .content")]


def search_field(driver: WebDriver, name: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f"#search [name='{name}']")


def live_results(driver: WebDriver, expect: Callable[[list[str]], bool]) -> list[str]:
    """Wait until the live results (swapped in by the page's script) satisfy `expect`."""
    found: list[str] = wait_for(driver, lambda d: h if expect(h := hits(d)) else False)
    return found


def no_script_ran(driver: WebDriver) -> bool:
    return bool(driver.execute_script("return typeof window.pwned === 'undefined'"))


def test_search_ranks_as_recall_and_filters(site: Site, daemon: Daemon, browser: WebDriver) -> None:
    remember(daemon, "The zephyr cluster runs in eu-west-1", project="platform", tags=["infra"])
    remember(daemon, "Zephyr deploys need a green pipeline first", project="webshop", tags=["ci"])
    remember(daemon, "Imported note: the zephyr wifi is called orchard", source="import")
    remember(daemon, "The zephyr admin password is hunter2-zephyr", force_sensitive=True)
    remember(daemon, "Alice prefers Svelte for dashboards", category="preferences")
    browser.get(f"{site.base}/")
    search_field(browser, "q").send_keys("zephyr cluster")
    found = live_results(browser, lambda h: bool(h) and "zephyr cluster" in h[0].lower())
    assert found[0] == "The zephyr cluster runs in eu-west-1"  # ranked first, as recall ranks
    summary = browser.find_element(By.CSS_SELECTOR, "#results .summary").text
    assert "ranked by relevance" in summary
    scores = browser.find_elements(By.CSS_SELECTOR, "#results .hit .score")  # recall's evidence
    assert len(scores) == len(found) and scores[0].text.startswith("score ")
    assert "zephyr+cluster" in browser.current_url  # the address follows the live search

    Select(search_field(browser, "source")).select_by_value("import")
    wanted = ["Imported note: the zephyr wifi is called orchard"]
    assert live_results(browser, lambda h: h == wanted) == wanted
    Select(search_field(browser, "source")).select_by_value("")
    search_field(browser, "project").send_keys("webshop")
    wanted = ["Zephyr deploys need a green pipeline first"]
    assert live_results(browser, lambda h: h == wanted) == wanted
    search_field(browser, "project").clear()
    search_field(browser, "q").clear()  # no query: the newest memories, filtered by the page
    Select(search_field(browser, "sensitivity")).select_by_value("sensitive")
    [placeholder] = live_results(browser, lambda h: len(h) == 1 and h[0].startswith("[SENS"))
    assert placeholder.startswith("[SENSITIVE") and "hunter2" not in browser.page_source
    screenshot(browser, "search")

    browser.find_element(By.CSS_SELECTOR, "#results .hit button.reveal").click()
    revealed = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "pre.revealed"))
    assert revealed[0].text == "The zephyr admin password is hunter2-zephyr"

    # Without a query: the newest memories, filtered by the API (category) and by the page.
    browser.get(f"{site.base}/?category=preferences")
    assert hits(browser) == ["Alice prefers Svelte for dashboards"]
    browser.get(f"{site.base}/?since=2000-01-01&until=2000-12-31")
    assert hits(browser) == []
    browser.get(f"{site.base}/?since=not-a-date")
    assert "since must be a date" in browser.find_element(By.ID, "results").text


def test_a_memory_with_markup_is_shown_as_text(
    site: Site, daemon: Daemon, browser: WebDriver
) -> None:
    memory_id = remember(daemon, XSS, tags=["<b>bold</b>", "xss"], project='"><i>p</i>')
    browser.get(f"{site.base}/memories/{memory_id}")
    assert browser.find_element(By.CSS_SELECTOR, "pre.content").text == XSS
    assert browser.find_elements(By.CSS_SELECTOR, "main img, main script, main b, main i") == []
    assert no_script_ran(browser)
    # The live results are inserted by the page's script: still text, still no element.
    browser.get(f"{site.base}/")
    search_field(browser, "tag").send_keys("xss")
    assert live_results(browser, lambda h: h == [XSS]) == [XSS]
    tags = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#results .tag")]
    assert "#<b>bold</b>" in tags
    assert browser.find_elements(By.CSS_SELECTOR, "main img, main script, main b, main i") == []
    assert no_script_ran(browser)


def submit_edit(driver: WebDriver, **fields: str) -> None:
    for name, value in fields.items():
        element = driver.find_element(By.CSS_SELECTOR, f"form.edit [name='{name}']")
        element.clear()
        element.send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "form.edit button[type='submit']").click()


def test_edit_validation_and_a_stale_edit(site: Site, daemon: Daemon, browser: WebDriver) -> None:
    memory_id = remember(daemon, "The release train leaves on Tuesdays", importance=0.4)
    browser.get(f"{site.base}/memories/{memory_id}")
    screenshot(browser, "memory")
    submit_edit(browser, content="The release train leaves on Wednesdays", tags="release, ops")
    wait_for(browser, lambda d: "Saved." in d.find_element(By.TAG_NAME, "main").text)
    saved = api_memory(daemon, memory_id)
    assert saved["content"] == "The release train leaves on Wednesdays"
    assert saved["tags"] == ["release", "ops"] and saved["importance"] == 0.4

    # Invalid: the API's message in the form, the user's input kept, nothing saved.
    submit_edit(browser, importance="7", content="Changed but invalid")
    alert = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "p.error"))
    assert "Not saved" in alert[0].text and "importance" in alert[0].text
    kept = browser.find_element(By.CSS_SELECTOR, "form.edit [name='importance']")
    assert kept.get_attribute("value") == "7"
    assert api_memory(daemon, memory_id)["content"] == "The release train leaves on Wednesdays"
    submit_edit(browser, importance="0.4", content="x" * 1401)
    # The previous answer's error stays on the page until the new one loads: wait for this one.
    alert = wait_for(
        browser,
        lambda d: [
            e
            for e in d.find_elements(By.CSS_SELECTOR, "p.error")
            if "content" in e.text and "importance" not in e.text
        ],
    )
    assert "1400" in alert[0].text.replace(",", "")

    # Stale: the memory changes (another tab, sync) after the form was loaded.
    browser.get(f"{site.base}/memories/{memory_id}")
    daemon.client().put(f"/api/memories/{memory_id}", json={"content": "Theirs: on Thursdays"})
    submit_edit(browser, content="Mine: on Fridays")
    theirs = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".theirs pre.content"))
    assert theirs[0].text == "Theirs: on Thursdays"
    assert browser.find_element(By.CSS_SELECTOR, ".yours pre.content").text == "Mine: on Fridays"
    assert api_memory(daemon, memory_id)["content"] == "Theirs: on Thursdays"
    screenshot(browser, "conflict")
    browser.find_element(By.CSS_SELECTOR, "form.edit button[type='submit']").click()  # mine
    wait_for(browser, lambda d: "Saved." in d.find_element(By.TAG_NAME, "main").text)
    assert api_memory(daemon, memory_id)["content"] == "Mine: on Fridays"


def test_delete_and_an_unknown_memory(site: Site, daemon: Daemon, browser: WebDriver) -> None:
    memory_id = remember(daemon, "The old VPN endpoint is vpn1.example.org")
    browser.get(f"{site.base}/memories/{memory_id}")
    browser.find_element(By.CSS_SELECTOR, "button[name='delete']").click()
    wait_for(browser, lambda d: d.switch_to.alert).accept()
    wait_for(browser, lambda d: "deleted=" in d.current_url)
    assert "Deleted memory" in browser.find_element(By.CSS_SELECTOR, "p.flash").text
    assert daemon.client().get(f"/api/memories/{memory_id}").status_code == 404
    browser.get(f"{site.base}/memories/{memory_id}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not found"


def test_undo_an_auto_learned_memory(
    site: Site, daemon: Daemon, browser: WebDriver, fake: FakeAnthropic, tmp_path: Path
) -> None:
    repo = tmp_path / "webshop"
    (repo / ".git").mkdir(parents=True)
    fake.on_structured = lambda text: {
        "lessons": [lesson("The webshop uses pnpm, never npm")] if "pnpm" in text else []
    }
    transcript = tmp_path / "t.jsonl"
    write_transcript(
        transcript,
        [
            ("user", "install the dependencies"),
            ("assistant", "Running npm install."),
            ("user", "No, we use pnpm here, never npm."),
        ],
    )
    stop(daemon, "viewer-learn", transcript, repo)
    [entry] = [
        e
        for e in daemon.client().get("/api/learn/learned").json()["learned"]
        if e["content"] == "The webshop uses pnpm, never npm"
    ]
    browser.get(f"{site.base}/learned")
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-entry='{entry['entry']}']")
    assert "the user corrected the assistant" in row.text
    screenshot(browser, "learned")
    row.find_element(By.CSS_SELECTOR, "button.undo").click()
    wait_for(browser, lambda d: d.switch_to.alert).accept()
    wait_for(browser, lambda d: "undone=" in d.current_url)
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-entry='{entry['entry']}']")
    assert "undone" in (row.get_attribute("class") or "")
    assert daemon.client().get(f"/api/memories/{entry['memory_id']}").status_code == 404


def test_status_page(site: Site, daemon: Daemon, browser: WebDriver) -> None:
    remember(daemon, "A memory for the status chart", source="import")
    browser.get(f"{site.base}/status")
    lines = browser.find_elements(By.CSS_SELECTOR, "svg.chart polyline.series")
    assert {"manual", "import"} <= {line.get_attribute("data-series") for line in lines}
    health = browser.find_element(By.ID, "status-health").text
    assert "mode local" in health
    total = daemon.client().get("/api/stats").json()["total"]
    assert f"total {total}" in browser.find_element(By.ID, "status-stats").text
    assert "enabled True" in browser.find_element(By.ID, "status-learn").text
    assert browser.find_element(By.ID, "status-sync").text
    screenshot(browser, "status")


def test_import_a_file(site: Site, daemon: Daemon, browser: WebDriver, tmp_path: Path) -> None:
    export = tmp_path / "memories.jsonl"  # as `memory export` writes it, without sensitive
    export.write_text(
        '{"content": "Imported through the viewer: the lab printer is on floor 3"}\n'
        '{"content": null, "is_sensitive": true}\n'
    )
    browser.get(f"{site.base}/transfer")
    browser.find_element(By.CSS_SELECTOR, "input[type='file']").send_keys(str(export))
    browser.find_element(By.CSS_SELECTOR, "form[action='/import'] button").click()
    result = wait_for(browser, lambda d: d.find_elements(By.ID, "import-result"))[0].text
    assert "Imported 1" in result and "skipped 1 sensitive" in result
    screenshot(browser, "transfer")
    found = (
        daemon.client()
        .post("/api/memories/recall", json={"context": "lab printer floor"})
        .json()["memories"]
    )
    assert found[0]["content"] == "Imported through the viewer: the lab printer is on floor 3"
    # A broken file imports nothing and says why.
    export.write_text('{"content": "fine"}\n{"content": 42}\n')
    browser.get(f"{site.base}/transfer")
    browser.find_element(By.CSS_SELECTOR, "input[type='file']").send_keys(str(export))
    browser.find_element(By.CSS_SELECTOR, "form[action='/import'] button").click()
    error = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "p.error"))[0].text
    assert "Nothing imported" in error and "item 1" in error
