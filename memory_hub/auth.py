"""Bearer keys. The user comes from the key, never from a body."""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request

from memory_core.errors import Unauthorized
from memory_hub.limits import Limits


class KeyRing:
    def __init__(self, keys: dict[str, str], limits: Limits) -> None:
        self._limits = limits
        # Digests have one length, so compare_digest's time does not depend on the key's.
        self._entries = [
            (user, hashlib.sha256(key.encode()).digest()) for user, key in keys.items()
        ]

    def user_for(self, presented: str) -> str | None:
        digest = hashlib.sha256(presented.encode()).digest()
        found = None
        for user, expected in self._entries:  # no early exit: every key is compared
            if hmac.compare_digest(digest, expected):
                found = user
        return found

    def authenticate(self, request: Request) -> str:
        """The key's user. Failures count against the client's address (the peer of the TCP
        connection: behind a proxy, the proxy's), which is refused for a while past its
        allowance (memory_hub.limits)."""
        address = request.client.host if request.client else "unknown"
        self._limits.check_address(address)
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            self._limits.auth_failed(address)
            raise Unauthorized("missing bearer key: send `Authorization: Bearer <API key>`")
        user = self.user_for(token.strip())
        if user is None:
            self._limits.auth_failed(address)
            raise Unauthorized("unknown API key")
        return user
