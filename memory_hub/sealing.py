"""Server-side encryption of sensitive memories that arrive in plaintext through the REST API.

Two backends: a local key (MEMORY_ENCRYPTION_KEY, AES-256-GCM, the daemon's at-rest format) or
Vault's transit engine (VAULT_ADDR + VAULT_TOKEN), where the key never leaves Vault. The user
and memory id are bound to each ciphertext, so a blob moved to another row does not open.
"""

from __future__ import annotations

import base64
from typing import Protocol

import httpx

from memory_core.crypto.aead import Cipher
from memory_core.crypto.keys import key_from_setting
from memory_core.errors import SecretBackendError, SensitiveRefused

VAULT_PREFIX = b"vault:"


def binding(user: str, memory_id: str) -> bytes:
    return f"memory_hub/secret/v1\n{user}\n{memory_id}".encode()


class Sealer(Protocol):
    name: str

    async def seal(self, plaintext: str, aad: bytes) -> bytes: ...

    async def open(self, blob: bytes, aad: bytes) -> str: ...


class NoSealer:
    name = "none"

    async def seal(self, plaintext: str, aad: bytes) -> bytes:
        raise SensitiveRefused(
            "this memory is sensitive (it looks like it holds a secret, or force_sensitive is "
            "set), and the hub has no MEMORY_ENCRYPTION_KEY or Vault configured to encrypt it, "
            "so it was not stored. Remove the secret, or ask the hub's operator to configure "
            "encryption."
        )

    async def open(self, blob: bytes, aad: bytes) -> str:
        raise SecretBackendError("the hub has no encryption key configured to open this secret")


class LocalSealer:
    name = "local"

    def __init__(self, setting: str) -> None:
        self._cipher = Cipher(key_from_setting(setting))

    async def seal(self, plaintext: str, aad: bytes) -> bytes:
        return self._cipher.seal(plaintext, aad)

    async def open(self, blob: bytes, aad: bytes) -> str:
        return self._cipher.open(blob, aad)


class VaultTransitSealer:
    """Vault transit: POST /v1/<mount>/encrypt/<key> and /decrypt/<key>."""

    name = "vault"

    def __init__(self, client: httpx.AsyncClient, addr: str, token: str, mount: str, key: str):
        self._client = client
        self._base = f"{addr}/v1/{mount}"
        self._key = key
        self._headers = {"X-Vault-Token": token}

    async def _call(self, action: str, payload: dict[str, str]) -> dict[str, str]:
        try:
            response = await self._client.post(
                f"{self._base}/{action}/{self._key}", json=payload, headers=self._headers
            )
        except httpx.HTTPError as exc:
            raise SecretBackendError(f"Vault is unreachable ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise SecretBackendError(f"Vault transit {action} failed with {response.status_code}")
        data = response.json().get("data")
        if not isinstance(data, dict):
            raise SecretBackendError(f"Vault transit {action} returned no data")
        return data

    async def seal(self, plaintext: str, aad: bytes) -> bytes:
        # The binding goes inside the plaintext: transit's `context` needs a derived key.
        framed = base64.b64encode(aad).decode() + "\n" + plaintext
        data = await self._call(
            "encrypt", {"plaintext": base64.b64encode(framed.encode()).decode()}
        )
        return data["ciphertext"].encode()  # "vault:v<n>:<base64>"

    async def open(self, blob: bytes, aad: bytes) -> str:
        if not blob.startswith(VAULT_PREFIX):
            raise SecretBackendError("this secret was not encrypted by Vault")
        data = await self._call("decrypt", {"ciphertext": blob.decode()})
        framed = base64.b64decode(data["plaintext"]).decode()
        bound, _, plaintext = framed.partition("\n")
        if base64.b64decode(bound) != aad:
            raise SecretBackendError("this secret belongs to another memory")
        return plaintext
