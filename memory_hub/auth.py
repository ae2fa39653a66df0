"""Bearer keys. The user comes from the key, never from a body."""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request

from memory_core.errors import Unauthorized


class KeyRing:
    def __init__(self, keys: dict[str, str]) -> None:
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
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("missing bearer key: send `Authorization: Bearer <API key>`")
        user = self.user_for(token.strip())
        if user is None:
            raise Unauthorized("unknown API key")
        return user
