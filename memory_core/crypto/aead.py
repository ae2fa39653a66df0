"""AES-256-GCM with associated data. Layout: version byte, 12-byte nonce, ciphertext+tag."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from memory_core.crypto.keys import derive
from memory_core.errors import DecryptError, WrongKey

FORMAT_V1 = 1
_NONCE = 12


def memory_aad(memory_id: str) -> bytes:
    """The associated data that binds a memory's sealed content to its id."""
    return b"memoryd/memory/v1/" + memory_id.encode()


class Cipher:
    """Seals sensitive content at rest; the memory id is bound as associated data, so a
    ciphertext moved to another memory does not open."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(derive(key, "memoryd/at-rest/v1"))
        self._dedup_key = derive(key, "memoryd/dedup/v1")

    def seal(self, plaintext: str, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return bytes([FORMAT_V1]) + nonce + self._aead.encrypt(nonce, plaintext.encode(), aad)

    def open(self, blob: bytes, aad: bytes) -> str:
        if len(blob) < 1 + _NONCE + 16 or blob[0] != FORMAT_V1:
            raise DecryptError("ciphertext has an unknown format")
        try:
            return self._aead.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], aad).decode()
        except InvalidTag:
            # A valid key that is not the sealing one is what makes a well-formed ciphertext
            # fail (a 409: a conflict with the stored data, not a server fault).
            raise WrongKey(
                "this memory does not open with the current encryption key: it was sealed "
                "with another one. Set MEMORY_ENCRYPTION_KEY (or restore the key file) to the "
                "key it was stored with; `memory doctor` checks the key against the data"
            ) from None

    def fingerprint(self, normalized: str) -> str:
        """Keyed hash for dedup: equal content is found without storing plaintext."""
        return hmac.new(self._dedup_key, normalized.encode(), hashlib.sha256).hexdigest()
