"""Getting a session: on the daemon, a one-time token from `memory ui` in the URL; on the hub,
the user's API key typed into a form. Either way the answer sets the session cookie (HttpOnly,
SameSite=Strict) and redirects to a URL without any secret in it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from memory_core.errors import RemoteError
from memory_core.http.routing import app_state
from memory_viewer.api import MemoryApi
from memory_viewer.guard import Policy, csrf_protected, session_of
from memory_viewer.render import base_path, page
from memory_viewer.sessions import OneTimeTokens, Session, SessionStore, bearer

MAX_KEY_CHARS = 512


def _policy(request: Request) -> Policy:
    return app_state(request, "policy", Policy)


def _sessions(request: Request) -> SessionStore:
    sessions: SessionStore = request.app.state.sessions
    return sessions


def _with_cookie(request: Request, session: Session) -> Response:
    response = RedirectResponse(f"{base_path(request)}/", status_code=303)
    policy = _policy(request)
    response.set_cookie(
        policy.cookie_name,
        session.id,
        httponly=True,
        samesite="strict",
        path=base_path(request) or "/",
        secure=policy.secure_cookie or request.url.scheme == "https",
    )
    return response


async def login(request: Request) -> Response:
    """Open a session: redeem `memory ui`'s token (daemon), or show the key form (hub)."""
    if request.app.state.key_login:
        return page(request, "login.html")
    tokens: OneTimeTokens = request.app.state.tokens
    token = request.query_params.get("token", "")
    if not token or not tokens.redeem(token):
        return page(
            request,
            "error.html",
            status_code=403,
            title="This link does not open the viewer",
            message="Each link from `memory ui` works once and for five minutes. "
            "Run `memory ui` again for a new one.",
        )
    return _with_cookie(request, await _sessions(request).open())


async def login_with_key(request: Request) -> Response:
    """The hub: check the API key against the hub's API and open a session for its user."""
    if not request.app.state.key_login:
        return page(request, "error.html", status_code=405, title="Not here", message="")
    form = await request.form()
    key = form.get("api_key")
    key = key.strip() if isinstance(key, str) else ""
    if not key or len(key) > MAX_KEY_CHARS:
        return page(request, "login.html", status_code=401, error="Give your API key.")
    try:
        user = await MemoryApi(request.app.state.api_client, bearer(key)).auth_check()
    except RemoteError as exc:
        if exc.status not in (401, 403):
            raise
        return page(request, "login.html", status_code=401, error="That API key is not known.")
    return _with_cookie(request, await _sessions(request).open(user=user, api_key=key))


@csrf_protected
async def logout(request: Request) -> Response:
    """Close the session (on the hub: on every instance)."""
    await _sessions(request).close(session_of(request))
    request.scope["state"]["session"] = None
    target = f"{base_path(request)}/login" if request.app.state.key_login else None
    response: Response
    if target:
        response = RedirectResponse(target, status_code=303)
    else:
        response = page(
            request,
            "error.html",
            title="Logged out",
            message="Run `memory ui` to open the viewer again.",
        )
    response.delete_cookie(_policy(request).cookie_name, path=base_path(request) or "/")
    return response


ROUTES = [
    Route("/login", login, methods=["GET"], name="login"),
    Route("/login", login_with_key, methods=["POST"], name="login_with_key"),
    Route("/logout", logout, methods=["POST"], name="logout"),
]
