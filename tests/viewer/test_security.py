"""The viewer's gate, over real loopback TCP to the viewer a real daemon serves: the one-time
link, the session cookie, Host, Origin and CSRF checks, the headers, and where it listens."""

from __future__ import annotations

import logging
import re
import socket
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from memory_viewer import daemon_viewer
from memory_viewer.guard import SAFE_METHODS
from memoryd.viewer_component import bind_loopback
from tests.support import Daemon, free_port, run_module, running_daemon
from tests.viewer.site import Site, remember


def stored(daemon: Daemon, memory_id: str) -> dict[str, Any]:
    found: dict[str, Any] = daemon.client().get(f"/api/memories/{memory_id}").json()
    return found


def test_the_link_works_once_and_leaves_only_a_cookie(site: Site) -> None:
    link = site.login_url()
    assert link.startswith(f"http://127.0.0.1:{site.port}/login?token=")
    with httpx.Client() as browser:
        opened = browser.get(link)
        assert opened.status_code == 303
        assert opened.headers["location"] == "/"  # the token is gone from the address
        cookie = opened.headers["set-cookie"]
        assert cookie.startswith(f"memoryd_viewer_{site.port}=")
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "path=/", "samesite=strict"} <= attributes
        assert browser.get(f"{site.base}/").status_code == 200
    with httpx.Client() as again:
        assert again.get(link).status_code == 403  # used
        assert again.get(f"{site.base}/").status_code == 401
    with httpx.Client() as guesser:
        assert guesser.get(f"{site.base}/login?token=guess").status_code == 403
        assert guesser.get(f"{site.base}/login").status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/search/results?q=x"),
        ("GET", "/status"),
        ("GET", "/learned"),
        ("GET", "/transfer"),
        ("GET", "/memories/01a24904-bcda-778c-a506-68b91ba8aae0"),
        ("POST", "/memories/01a24904-bcda-778c-a506-68b91ba8aae0/delete"),
        ("POST", "/export"),
    ],
)
def test_without_the_cookie_nothing_is_shown(site: Site, method: str, path: str) -> None:
    with httpx.Client(base_url=site.base) as stranger:
        answer = stranger.request(method, path, headers={"origin": site.base})
    assert answer.status_code == 401
    assert "memor" not in answer.text.split("<main>")[1].lower()


def test_a_forged_origin_or_a_missing_csrf_token_changes_nothing(
    site: Site, daemon: Daemon
) -> None:
    memory_id = remember(daemon, "The build server is called ferrari")
    client = site.client()
    csrf = site.csrf(client)
    delete = f"/memories/{memory_id}/delete"
    for origin in ("http://evil.example", "null", f"http://localhost:{site.port + 1}"):
        answer = client.post(delete, data={"csrf": csrf}, headers={"origin": origin})
        assert answer.status_code == 403, origin
    assert client.post(delete, data={"csrf": csrf}).status_code == 403  # no Origin at all
    same = {"origin": site.base}
    assert client.post(delete, data={"csrf": "forged"}, headers=same).status_code == 403
    assert client.post(delete, data={}, headers=same).status_code == 403
    assert stored(daemon, memory_id)["content"] == "The build server is called ferrari"
    done = client.post(delete, data={"csrf": csrf}, headers=same)
    assert done.status_code == 303
    assert daemon.client().get(f"/api/memories/{memory_id}").status_code == 404


def test_numbers_that_int_refuses_are_a_clean_answer(site: Site) -> None:
    """A superscript digit passes str.isdigit() but not int(), nor do 5,000 digits: a page
    number or an entry number like that is answered, never a 500."""
    client = site.client()
    csrf = site.csrf(client)
    for raw in ("\u00b2", "9" * 5000):
        assert client.get("/", params={"q": "build", "page": raw}).status_code == 200, raw
        undo = client.post(
            f"/learned/{raw}/undo", data={"csrf": csrf}, headers={"origin": site.base}
        )
        assert undo.status_code < 500, raw


def test_a_rebound_host_name_is_refused(site: Site) -> None:
    client = site.client()
    assert client.get("/").status_code == 200
    for host in ("evil.example", f"evil.example:{site.port}", "127.0.0.1", "localhost:1"):
        assert client.get("/", headers={"host": host}).status_code == 403, host
    assert client.get("/", headers={"host": f"localhost:{site.port}"}).status_code == 200


def test_every_page_has_a_strict_policy_and_no_inline_script(site: Site, daemon: Daemon) -> None:
    memory_id = remember(daemon, "Policies are strict here", tags=["csp"])
    client = site.client()
    pages = ("/", "/?q=policies", "/status", "/learned", "/sessions", "/trash", "/transfer")
    for path in (*pages, f"/memories/{memory_id}"):
        page = client.get(path)
        assert page.status_code == 200, path
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
        assert scripts and all('src="/static/' in attrs and not body for attrs, body in scripts)
        # Nothing is loaded or linked from elsewhere: every address is this viewer's own.
        addresses = re.findall(r'(?:src|href|action)="([^"]*)"', page.text)
        assert addresses and all(a.startswith(("/", "?")) for a in addresses), addresses
    assert (
        client.get("/static/viewer.js")
        .headers["content-type"]
        .startswith(("text/javascript", "application/javascript"))
    )


def test_it_listens_on_127_0_0_1_only(site: Site) -> None:
    with socket.create_connection(("127.0.0.1", site.port), timeout=5):
        pass
    # Another loopback address reaches every socket bound to 0.0.0.0: not this one.
    with pytest.raises(OSError), socket.create_connection(("127.0.0.2", site.port), timeout=5):
        pass


def test_the_port_is_configurable_and_reused() -> None:
    with running_daemon() as daemon:
        client = daemon.client()
        assert client.post("/api/viewer", json={"port": 80000}).status_code == 422
        assert client.post("/api/viewer", content=b"{").status_code == 400
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            busy = taken.getsockname()[1]
            answer = client.post("/api/viewer", json={"port": busy})
            assert answer.status_code == 409 and str(busy) in answer.json()["error"]["message"]
        port = free_port()
        first = client.post("/api/viewer", json={"port": port}).json()
        assert first["port"] == port and first["started"] is True
        again = client.post("/api/viewer").json()  # no body: reuse whatever runs
        assert again["port"] == port and again["started"] is False
        assert again["url"] != first["url"]  # a new one-time token each time
        moved = client.post("/api/viewer", json={"port": port + 1})
        assert moved.status_code == 409


def test_memory_ui_prints_a_link_that_opens_the_viewer(daemon: Daemon) -> None:
    done = run_module("memoryd.cli.memory_cmd", "ui", "--no-browser", env=daemon.env, timeout=30)
    assert done.returncode == 0, done.stderr
    link = re.search(r"http://127\.0\.0\.1:\d+/login\?token=\S+", done.stdout)
    assert link is not None, done.stdout
    with httpx.Client(follow_redirects=True) as browser:
        page = browser.get(link.group(0))
    assert page.status_code == 200 and 'name="q"' in page.text


def test_every_state_changing_route_checks_the_csrf_token() -> None:
    viewer = daemon_viewer(httpx.AsyncClient(), port=1)
    changing = [
        route
        for route in viewer.app.routes
        if isinstance(route, Route) and set(route.methods or ()) - SAFE_METHODS
    ]
    assert len(changing) >= 7
    unguarded = [
        route.path
        for route in changing
        if route.path != "/login" and not getattr(route.endpoint, "csrf_protected", False)
    ]
    assert unguarded == []


async def test_reveals_and_sensitive_exports_are_logged_without_the_content(
    daemon: Daemon, caplog: pytest.LogCaptureFixture
) -> None:
    memory_id = remember(daemon, "The alarm code is 9911", force_sensitive=True)
    origin = "http://127.0.0.1:8765"
    async with daemon.async_client() as memory_api:
        viewer = daemon_viewer(memory_api, port=8765)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=viewer.app), base_url=origin
        ) as browser:
            page = await browser.get(viewer.login_path(), follow_redirects=True)
            found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
            assert found is not None
            form = {"csrf": found.group(1)}
            with caplog.at_level(logging.INFO, logger="memory_viewer.audit"):
                shown = await browser.get(f"/memories/{memory_id}")
                assert "9911" not in shown.text
                # Looking is not revealing: the audit log says nothing (other loggers, such as
                # httpx's request lines, are not this test's concern).
                assert [r for r in caplog.records if r.name == "memory_viewer.audit"] == []
                revealed = await browser.post(
                    f"/memories/{memory_id}/reveal", data=form, headers={"origin": origin}
                )
                exported = await browser.post(
                    "/export", data={**form, "include_sensitive": "1"}, headers={"origin": origin}
                )
    assert revealed.status_code == 200 and "The alarm code is 9911" in revealed.text
    assert "The alarm code is 9911" in exported.text
    messages = [r.getMessage() for r in caplog.records if r.name == "memory_viewer.audit"]
    assert any("revealed" in m and memory_id in m for m in messages), messages
    assert any("exported memories with sensitive content" in m for m in messages), messages
    assert "9911" not in caplog.text


def test_the_listener_is_tcp_on_loopback_so_answers_are_not_delayed() -> None:
    # asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP; with proto 0 every
    # answer (headers, then body) waited ~40 ms for the client's delayed ACK.
    sock = bind_loopback(0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockname()[0] == "127.0.0.1"
        with socket.create_connection(sock.getsockname(), timeout=5):
            accepted, _ = sock.accept()
            with accepted:
                assert accepted.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_the_viewer_stops_with_the_daemon() -> None:
    """The viewer is a component of the daemon's lifespan: stopping the daemon closes it."""
    with running_daemon() as daemon:
        port = free_port()
        assert daemon.client().post("/api/viewer", json={"port": port}).status_code == 200
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        assert daemon.stop() == 0
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
