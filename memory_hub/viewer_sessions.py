"""The hub viewer's sessions (/ui, docs/viewer.md) in PostgreSQL, shared by every instance.

A row holds what the viewer needs and nothing a database reader could log in with: a hash of
the cookie's random id (the key it is found by), the user, a hash of the API key the user logged
in with, and the expiry. The key itself is the one the hub is configured with (`KeyRing`): a
session whose user's key has changed since is over. Logging out deletes the row, so the cookie
is dead on every instance; a restart keeps everyone logged in.
"""

from __future__ import annotations

import asyncpg

from memory_core.clock import Clock
from memory_hub.auth import KeyRing, key_digest
from memory_viewer.sessions import (
    MAX_SESSIONS,
    SESSION_TTL_MS,
    Session,
    bearer,
    new_session_id,
    session_id_hash,
)

# The expired rows one login deletes at most; rows another login holds are skipped, so two
# logins never wait on each other.
PRUNE_BATCH = 1000

_OPEN = """
WITH expired AS (
    DELETE FROM hub_viewer_sessions WHERE id_hash IN (
        SELECT id_hash FROM hub_viewer_sessions WHERE expires_ms <= $5
        LIMIT $6 FOR UPDATE SKIP LOCKED)
)
INSERT INTO hub_viewer_sessions (id_hash, user_id, key_hash, expires_ms) VALUES ($1, $2, $3, $4)
"""
_FIND = (
    "SELECT user_id, key_hash, expires_ms FROM hub_viewer_sessions "
    "WHERE id_hash = $1 AND expires_ms > $2"
)
_CLOSE = "DELETE FROM hub_viewer_sessions WHERE id_hash = $1"


class HubSessions:
    """memory_viewer.sessions.SessionStore over the hub's database. Made with the app, given
    its pool and keys when the app starts (`attach`)."""

    def __init__(self, clock: Clock, ttl_ms: int = SESSION_TTL_MS) -> None:
        self._clock = clock
        self._ttl_ms = ttl_ms
        self._pool: asyncpg.Pool | None = None
        self._keys: KeyRing | None = None
        # The Session objects this process handed out lately, by id hash: only so that what a
        # page keeps in one (the search filter's project names) lasts a minute here. Every
        # request still asks the database whether the session is alive.
        self._recent: dict[bytes, Session] = {}

    def attach(self, pool: asyncpg.Pool, keys: KeyRing) -> None:
        self._pool, self._keys = pool, keys

    def _db(self) -> tuple[asyncpg.Pool, KeyRing]:
        if self._pool is None or self._keys is None:
            raise RuntimeError("the hub's viewer sessions are used before the app started")
        return self._pool, self._keys

    async def open(self, user: str | None = None, api_key: str | None = None) -> Session:
        if user is None or api_key is None:
            raise ValueError("a hub viewer session is opened for a user, with their key")
        pool, _ = self._db()
        now = self._clock.now_ms()
        session = Session(
            id=new_session_id(),
            expires_ms=now + self._ttl_ms,
            user=user,
            api_headers=bearer(api_key),
        )
        digest = session_id_hash(session.id)
        session.label = digest[:4].hex()
        key_hash = key_digest(api_key)
        await pool.execute(_OPEN, digest, user, key_hash, session.expires_ms, now, PRUNE_BATCH)
        self._remember(digest, session)
        return session

    async def find(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        pool, keys = self._db()
        digest = session_id_hash(session_id)
        row = await pool.fetchrow(_FIND, digest, self._clock.now_ms())
        key = keys.key_of(row["user_id"], row["key_hash"]) if row is not None else None
        if row is None or key is None:
            self._recent.pop(digest, None)
            return None
        known = self._recent.get(digest)
        if known is not None and known.id == session_id and known.user == row["user_id"]:
            known.api_headers = bearer(key)
            return known
        session = Session(
            id=session_id,
            expires_ms=row["expires_ms"],
            label=digest[:4].hex(),
            user=row["user_id"],
            api_headers=bearer(key),
        )
        self._remember(digest, session)
        return session

    async def close(self, session: Session) -> None:
        pool, _ = self._db()
        digest = session_id_hash(session.id)
        self._recent.pop(digest, None)
        await pool.execute(_CLOSE, digest)

    def _remember(self, digest: bytes, session: Session) -> None:
        if len(self._recent) >= MAX_SESSIONS:
            self._recent.clear()  # a cache: forgetting costs one /api/stats call
        self._recent[digest] = session
