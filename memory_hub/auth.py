"""Bearer keys. The user comes from the key, never from a body."""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request

from memory_core.errors import Unauthorized
from memory_hub.limits import Limits


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class KeyRing:
    def __init__(self, keys: dict[str, str], limits: Limits) -> None:
        self._limits = limits
        self._keys = dict(keys)
        # Digests have one length, so compare_digest's time does not depend on the key's.
        self._entries = [(user, key_digest(key)) for user, key in keys.items()]

    def user_for(self, presented: str) -> str | None:
        digest = key_digest(presented)
        found = None
        for user, expected in self._entries:  # no early exit: every key is compared
            if hmac.compare_digest(digest, expected):
                found = user
        return found

    def key_of(self, user: str, digest: bytes) -> str | None:
        """The user's key if its digest is still `digest` (a viewer session keeps the digest
        of the key it was opened with: a changed key ends it)."""
        key = self._keys.get(user)
        return key if key is not None and hmac.compare_digest(key_digest(key), digest) else None

    async def authenticate(self, request: Request) -> str:
        """The key's user. Failures count against the client's address (the peer of the TCP
        connection: behind a proxy, the proxy's), which is refused for a while past its
        allowance, right key or wrong, on every instance (memory_hub.limits)."""
        address = request.client.host if request.client else "unknown"
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await self._limits.auth_failed(address)
            raise Unauthorized("missing bearer key: send `Authorization: Bearer <API key>`")
        user = self.user_for(token.strip())
        if user is None:
            await self._limits.auth_failed(address)
            raise Unauthorized("unknown API key")
        await self._limits.check_address(address)
        return user
