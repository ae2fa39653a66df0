"""Viewer sessions: one-time login tokens and the sessions they open.

A session id is the value of the HttpOnly cookie; it never appears in a URL or a page. The CSRF
token is a separate secret that pages carry in their forms. Both live only in this process's
memory: a restart of the daemon (or of a hub instance) logs everybody out.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

from memory_core.clock import Clock

TOKEN_TTL_MS = 5 * 60 * 1000  # long enough to paste a printed link into a browser
SESSION_TTL_MS = 12 * 60 * 60 * 1000
MAX_SESSIONS = 1000  # a bound on memory: the oldest sessions go first


@dataclass
class Session:
    id: str
    csrf: str
    expires_ms: int
    # A name for the session in logs: the id itself is the cookie's secret.
    label: str = field(default_factory=lambda: secrets.token_hex(4))
    # The hub: who logged in, and the API key every request of this session carries.
    user: str | None = None
    api_headers: dict[str, str] = field(default_factory=dict)
    # The search filter's project names, and when (time.monotonic()) they were asked for.
    projects: list[str] | None = None
    projects_at: float = 0.0

    def csrf_matches(self, presented: str) -> bool:
        return hmac.compare_digest(self.csrf.encode(), presented.encode())


class SessionStore:
    def __init__(self, clock: Clock, ttl_ms: int = SESSION_TTL_MS) -> None:
        self._clock = clock
        self._ttl_ms = ttl_ms
        self._sessions: dict[str, Session] = {}

    def open(self, user: str | None = None, api_headers: dict[str, str] | None = None) -> Session:
        now = self._clock.now_ms()
        self._sessions = {k: s for k, s in self._sessions.items() if s.expires_ms > now}
        while len(self._sessions) >= MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]
        session = Session(
            id=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            expires_ms=now + self._ttl_ms,
            user=user,
            api_headers=dict(api_headers or {}),
        )
        self._sessions[session.id] = session
        return session

    def find(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None or session.expires_ms <= self._clock.now_ms():
            self._sessions.pop(session_id, None)
            return None
        return session

    def close(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)


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
