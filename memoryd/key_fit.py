"""Whether a key opens the secrets a database holds.

A valid key is not always the one the stored secrets were sealed with: another machine's key
file, a mistyped MEMORY_ENCRYPTION_KEY passphrase. `memory doctor` tries the key on a sample of
sealed memories, enough to tell a key that never sealed them (none opens) from a few damaged
rows without decrypting a whole large database.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from memory_core.crypto.aead import Cipher, memory_aad
from memory_core.errors import DecryptError, WrongKey

SAMPLE = 20

log = logging.getLogger("memoryd")


@dataclass(frozen=True)
class KeyFit:
    checked: int  # sealed memories tried (the newest ones)
    failed: int  # of those, how many did not open


def _sealed_sample(db: Path) -> list[tuple[str, bytes]]:
    if not db.is_file():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                "SELECT id, secret FROM memories WHERE secret IS NOT NULL "
                "ORDER BY rowid DESC LIMIT ?",
                (SAMPLE,),
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return []  # the database checks report an unreadable database
    return [(str(memory_id), bytes(secret)) for memory_id, secret in rows]


def key_fit(db: Path, key: bytes) -> KeyFit:
    sample = _sealed_sample(db)
    cipher = Cipher(key)
    failed = 0
    for memory_id, blob in sample:
        try:
            cipher.open(blob, memory_aad(memory_id))
        except (WrongKey, DecryptError):
            failed += 1
    return KeyFit(len(sample), failed)


class SealingRefused(Cipher):
    """A cipher for a key that opens none of the secrets already stored: it still opens and
    fingerprints, but refuses to seal. A secret sealed under such a key (another machine's key
    file, a mistyped passphrase) would never open once the right key is back, so a sensitive
    write is a 409 `wrong_key` until the key is fixed, and nothing is stored."""

    def seal(self, plaintext: str, aad: bytes) -> bytes:
        raise WrongKey(
            "the encryption key does not open the sensitive memories already stored here, so "
            "a new one sealed with it would be lost once the right key is back; nothing was "
            "stored. Set MEMORY_ENCRYPTION_KEY (or restore the key file) to the key they were "
            "sealed with; `memory doctor` checks it"
        )


def at_rest_cipher(db: Path, key: bytes) -> Cipher:
    """The store's cipher: one that refuses to seal when the key fits none of the stored secrets."""
    fit = key_fit(db, key)
    if fit.checked and fit.failed == fit.checked:
        log.warning(
            "the encryption key opens none of the %d newest sealed memories: sensitive writes "
            "are refused (409 wrong_key) until the right key is set; run `memory doctor`",
            fit.checked,
        )
        return SealingRefused(key)
    return Cipher(key)
