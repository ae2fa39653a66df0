"""The viewer app factory, and the two ways it is served: by the daemon on loopback (a
one-time token from `memory ui`) and by the hub under /ui (a login with the user's API key)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from memory_core.clock import Clock, SystemClock
from memory_core.errors import NotFound, ServiceError, Unavailable
from memory_viewer import login
from memory_viewer.guard import Guard, Policy
from memory_viewer.pages import learned, memory, search, status, transfer, trash
from memory_viewer.pages import sessions as session_pages
from memory_viewer.render import environment, page
from memory_viewer.sessions import MemorySessions, OneTimeTokens, SessionStore

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


@dataclass
class Viewer:
    app: Starlette
    tokens: OneTimeTokens

    def login_path(self) -> str:
        """A path with a fresh one-time token, for `memory ui` to hand to the browser."""
        return f"/login?token={self.tokens.issue()}"


def refuse(request: Request, status_code: int, why: str) -> Response:
    titles = {401: "Not logged in", 403: "Refused", 404: "Not found"}
    return page(
        request,
        "error.html",
        status_code=status_code,
        title=titles.get(status_code, "Error"),
        message=why,
        login_link=status_code == 401 and request.app.state.key_login,
    )


async def service_error(request: Request, exc: Exception) -> Response:
    """What the API said, as a page: its status (404, 422, …) and its message."""
    assert isinstance(exc, ServiceError)
    status_code = exc.status if 400 <= exc.status < 600 else 502
    if isinstance(exc, NotFound):
        return refuse(request, 404, exc.message)
    if isinstance(exc, Unavailable):
        status_code = 503
    return page(
        request,
        "error.html",
        status_code=status_code,
        title="Could not do that",
        message=exc.message,
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return refuse(request, exc.status_code, exc.detail)


def create_viewer(
    client: httpx.AsyncClient,
    policy: Policy,
    *,
    key_login: bool,
    site_name: str,
    clock: Clock | None = None,
    sessions: SessionStore | None = None,
) -> Viewer:
    """The viewer over the memory API that `client` reaches (its owner closes it), its
    sessions in `sessions` (by default in this process's memory)."""
    clock = clock or SystemClock()
    sessions = sessions or MemorySessions(clock)
    tokens = OneTimeTokens(clock)
    routes = [
        *login.ROUTES,
        *search.ROUTES,
        *memory.ROUTES,
        *learned.ROUTES,
        *session_pages.ROUTES,
        *trash.ROUTES,
        *status.ROUTES,
        *transfer.ROUTES,
        Mount("/static", StaticFiles(packages=[("memory_viewer", "static")]), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, policy=policy, sessions=sessions, refuse=refuse)],
        exception_handlers={ServiceError: service_error, HTTPException: http_error},
    )
    app.state.api_client = client
    app.state.policy = policy
    app.state.sessions = sessions
    app.state.tokens = tokens
    app.state.key_login = key_login
    app.state.site_name = site_name
    app.state.templates = environment()
    app.state.refuse = refuse
    return Viewer(app=app, tokens=tokens)


def daemon_viewer(client: httpx.AsyncClient, port: int, clock: Clock | None = None) -> Viewer:
    """The daemon's viewer on 127.0.0.1:`port`: loopback Host names only, and a cookie named
    after the port (cookies are not port-scoped, and two users' daemons may both serve one)."""
    policy = Policy(
        allowed_hosts=frozenset(f"{name}:{port}" for name in LOOPBACK_NAMES),
        cookie_name=f"memoryd_viewer_{port}",
    )
    return create_viewer(client, policy, key_login=False, site_name="memoryd", clock=clock)


def hub_viewer(
    transport: httpx.AsyncBaseTransport, sessions: SessionStore, clock: Clock | None = None
) -> Starlette:
    """The hub's viewer, to mount (at /ui): it calls the hub's REST API through `transport`
    (the hub app itself, in process) with the logged-in user's API key; its sessions are the
    hub's (`sessions`: in its database, so any instance serves any of them)."""
    client = httpx.AsyncClient(transport=transport, base_url="http://hub", timeout=30)
    policy = Policy(allowed_hosts=None, cookie_name="memory_hub_viewer")
    viewer = create_viewer(
        client, policy, key_login=True, site_name="memory-hub", clock=clock, sessions=sessions
    )
    return viewer.app
