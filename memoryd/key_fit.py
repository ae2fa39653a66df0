"""Whether a key opens the secrets a database holds.

A valid key is not always the one the stored secrets were sealed with: another machine's key
file, a mistyped MEMORY_ENCRYPTION_KEY passphrase. `memory doctor` tries the key on a sample of
sealed memories, enough to tell a key that never sealed them (none opens) from a few damaged
rows without decrypting a whole large database.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from memory_core.crypto.aead import Cipher, memory_aad
from memory_core.errors import DecryptError, WrongKey

SAMPLE = 20


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
