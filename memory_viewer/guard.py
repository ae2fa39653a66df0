"""The viewer's gate: every request's Host, session cookie and (for a change) Origin are
checked here, before any page runs; the CSRF token is checked by `csrf_protected` handlers.

Rules (docs/viewer.md, "Security model"):
- Host: one of the names the viewer is served under (on the daemon: loopback names with its
  port), so a DNS-rebound name (evil.example resolving to 127.0.0.1) gets 403.
- Cookie: a session opened by a one-time token (daemon) or an API-key login (hub); without one,
  401. Static assets and the login routes are the only paths open without it.
- Origin: every request other than GET/HEAD must come from a page of this viewer (the Origin's
  host equals the Host), else 403; and it must carry the session's CSRF token.
- Every answer carries a strict Content-Security-Policy (no inline script, nothing from
  elsewhere) and is never cached.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memory_core.http.middleware import HttpMiddleware
from memory_viewer.sessions import Session, SessionStore

SAFE_METHODS = frozenset({"GET", "HEAD"})
PUBLIC_PREFIXES = ("/static/", "/login")
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    # Not no-referrer: with it, browsers send `Origin: null` on a same-origin form POST.
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-store",
}


@dataclass(frozen=True)
class Policy:
    # The Host values accepted, lower-case "name:port"; None accepts any (the hub, whose
    # public name is the operator's: its cookies are bound to that name by the browser).
    allowed_hosts: Collection[str] | None
    cookie_name: str
    secure_cookie: bool = False


def route_path(scope: Scope) -> str:
    """The path inside the viewer, whether it is served at / (daemon) or mounted (hub)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def host_allowed(request: Request, policy: Policy) -> bool:
    host = request.headers.get("host", "").lower()
    if not host:
        return False
    return policy.allowed_hosts is None or host in policy.allowed_hosts


def origin_allowed(request: Request) -> bool:
    origin = request.headers.get("origin", "")
    if not origin or origin == "null":
        return False
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


class Guard(HttpMiddleware):
    """ASGI middleware: the checks above, and the security headers on every answer."""

    def __init__(
        self,
        app: ASGIApp,
        policy: Policy,
        sessions: SessionStore,
        refuse: Callable[[Request, int, str], Response],
    ) -> None:
        super().__init__(app)
        self.policy = policy
        self.sessions = sessions
        self.refuse = refuse

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                # The page's time in the server (API calls and rendering), for bench/.
                elapsed_ms = (time.perf_counter() - started) * 1000
                headers["server-timing"] = f"app;dur={elapsed_ms:.2f}"
            await send(message)

        request = Request(scope)
        problem = await self.check(request)
        if problem is not None:
            status, why = problem
            await self.refuse(request, status, why)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    async def check(self, request: Request) -> tuple[int, str] | None:
        if not host_allowed(request, self.policy):
            return 403, "This address is not one the viewer is served under."
        if request.method not in SAFE_METHODS and not origin_allowed(request):
            return 403, "The request did not come from a page of this viewer."
        path = route_path(request.scope)
        session = await self.sessions.find(request.cookies.get(self.policy.cookie_name))
        request.scope.setdefault("state", {})["session"] = session
        if session is None and not path.startswith(PUBLIC_PREFIXES):
            return 401, "You are not logged in to the viewer."
        return None


def session_of(request: Request) -> Session:
    """The session the guard found (a protected route is only reached with one)."""
    session: Session | None = request.scope.get("state", {}).get("session")
    if session is None:
        raise RuntimeError("a protected route was reached without a session")
    return session


Handler = Callable[[Request], Awaitable[Response]]


def csrf_protected(handler: Handler) -> Handler:
    """A state-changing handler: it runs only when the form (or the X-CSRF-Token header)
    carries the session's CSRF token; its form is parsed here, and cached on the request."""

    async def checked(request: Request) -> Response:
        session = session_of(request)
        presented = request.headers.get(CSRF_HEADER, "")
        if not presented:
            form = await request.form()
            value = form.get(CSRF_FIELD)
            presented = value if isinstance(value, str) else ""
        if not presented or not session.csrf_matches(presented):
            refuse: Callable[[Request, int, str], Response] = request.app.state.refuse
            return refuse(request, 403, "The form was stale or forged (no valid CSRF token).")
        return await handler(request)

    checked.csrf_protected = True  # type: ignore[attr-defined]
    checked.__name__ = handler.__name__
    checked.__doc__ = handler.__doc__
    return checked
