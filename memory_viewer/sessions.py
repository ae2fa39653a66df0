"""Viewer sessions: one-time login tokens and the sessions they open.

A session id is the value of the HttpOnly cookie; it never appears in a URL or a page. The CSRF
token is a separate secret that pages carry in their forms, derived from the id by a one-way
hash (so a store keeps neither, and a page's token does not give away the cookie).

Where sessions live is the `SessionStore` the viewer is made with: the daemon keeps them in its
process's memory (`MemorySessions`: a restart logs its one user out); the hub keeps them in
PostgreSQL, so every instance and every restart knows them (memory_hub.viewer_sessions).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Protocol

from memory_core.clock import Clock

TOKEN_TTL_MS = 5 * 60 * 1000  # long enough to paste a printed link into a browser
SESSION_TTL_MS = 12 * 60 * 60 * 1000
MAX_SESSIONS = 1000  # a bound on memory: the oldest sessions go first


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def _digest(purpose: bytes, session_id: str) -> bytes:
    return hashlib.sha256(purpose + b"\0" + session_id.encode()).digest()


def session_id_hash(session_id: str) -> bytes:
    """What a store may keep to find a session: a cookie cannot be made back from it."""
    return _digest(b"session", session_id)


def csrf_for(session_id: str) -> str:
    return base64.urlsafe_b64encode(_digest(b"csrf", session_id)).rstrip(b"=").decode()


def bearer(api_key: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


@dataclass
class Session:
    id: str
    expires_ms: int
    # A name for the session in logs: the id itself is the cookie's secret.
    label: str = field(default_factory=lambda: secrets.token_hex(4))
    # The hub: who logged in, and the API key every request of this session carries.
    user: str | None = None
    api_headers: dict[str, str] = field(default_factory=dict)
    # The search filter's project names, and when (time.monotonic()) they were asked for.
    projects: list[str] | None = None
    projects_at: float = 0.0

    @property
    def csrf(self) -> str:
        return csrf_for(self.id)

    def csrf_matches(self, presented: str) -> bool:
        return hmac.compare_digest(self.csrf.encode(), presented.encode())


class SessionStore(Protocol):
    async def open(self, user: str | None = None, api_key: str | None = None) -> Session:
        """A new session (for `user`, calling the API with `api_key`, on the hub)."""
        ...

    async def find(self, session_id: str | None) -> Session | None:
        """The live session the cookie names, or None."""
        ...

    async def close(self, session: Session) -> None:
        """End the session, wherever it is looked up next."""
        ...


class MemorySessions:
    """Sessions in this process's memory: the daemon's, whose viewer has one user."""

    def __init__(self, clock: Clock, ttl_ms: int = SESSION_TTL_MS) -> None:
        self._clock = clock
        self._ttl_ms = ttl_ms
        self._sessions: dict[str, Session] = {}

    async def open(self, user: str | None = None, api_key: str | None = None) -> Session:
        now = self._clock.now_ms()
        self._sessions = {k: s for k, s in self._sessions.items() if s.expires_ms > now}
        while len(self._sessions) >= MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]
        session = Session(
            id=new_session_id(),
            expires_ms=now + self._ttl_ms,
            user=user,
            api_headers=bearer(api_key),
        )
        self._sessions[session.id] = session
        return session

    async def find(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None or session.expires_ms <= self._clock.now_ms():
            self._sessions.pop(session_id, None)
            return None
        return session

    async def close(self, session: Session) -> None:
        self._sessions.pop(session.id, None)


class OneTimeTokens:
    """Tokens handed to the browser in a URL by `memory ui`: each opens one session, once."""

    def __init__(self, clock: Clock, ttl_ms: int = TOKEN_TTL_MS) -> None:
        self._clock = clock
        self._ttl_ms = ttl_ms
        self._expiry: dict[str, int] = {}

    def issue(self) -> str:
        now = self._clock.now_ms()
        self._expiry = {t: at for t, at in self._expiry.items() if at > now}
        token = secrets.token_urlsafe(32)
        self._expiry[token] = now + self._ttl_ms
        return token

    def redeem(self, token: str) -> bool:
        # Looked up by exact key: a dict lookup hashes the whole token, no early-exit compare.
        expires = self._expiry.pop(token, None)
        return expires is not None and expires > self._clock.now_ms()
