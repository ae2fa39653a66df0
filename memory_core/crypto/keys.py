"""The user's 32-byte key: from MEMORY_ENCRYPTION_KEY, or a generated 0600 key file.

The same MEMORY_ENCRYPTION_KEY on each of a user's machines gives the same key, so sync can
carry ciphertext between them. A passphrase is stretched with scrypt and a fixed salt for that
reason: the salt cannot be per-machine.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from memory_core.disk import is_disk_full
from memory_core.errors import ConfigError, DiskFull
from memory_core.private_files import private_dir, write_private_file

KEY_BYTES = 32
_PASSPHRASE_SALT = b"memoryd/passphrase/v1"


def key_from_setting(value: str) -> bytes:
    """64 hex digits or base64 of 32 bytes are used as is; anything else is a passphrase."""
    text = value.strip()
    if len(text) == 2 * KEY_BYTES:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=False)
        if len(raw) == KEY_BYTES and len(text) in (43, 44):
            return raw
    except (binascii.Error, ValueError):
        pass
    if len(text) < 12:
        raise ConfigError(
            "invalid MEMORY_ENCRYPTION_KEY: use 64 hex digits (openssl rand -hex 32) "
            "or a passphrase of at least 12 characters"
        )
    return hashlib.scrypt(text.encode(), salt=_PASSPHRASE_SALT, n=2**14, r=8, p=1, dklen=KEY_BYTES)


def load_or_create_key_file(path: Path) -> bytes:
    """Read the key file, creating it (0600, in a private directory) on first use."""
    private_dir(path.parent, "the key file")
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        text = secrets.token_hex(KEY_BYTES)
        # If another process created the key meanwhile, theirs wins and ours goes.
        try:
            created = write_private_file(path, (text + "\n").encode(), replace=False)
        except OSError as exc:
            if is_disk_full(exc):
                raise DiskFull(
                    f"cannot create the key file {path}: the disk is full. Free some space on "
                    f"it (df -h {path.parent}), then try again"
                ) from None
            raise
        if not created:
            text = path.read_text().strip()
    except UnicodeDecodeError:  # binary: not the hex this file holds
        text = ""
    except OSError as exc:  # a directory, unreadable: one line, not a traceback
        raise ConfigError(f"key file {path} cannot be read: {exc.strerror or exc}") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigError(f"key file {path} is damaged: expected 64 hex digits")
    return key


def load_key(setting: str | None, key_file: Path) -> bytes:
    return key_from_setting(setting) if setting else load_or_create_key_file(key_file)


def derive(key: bytes, purpose: str) -> bytes:
    """A sub-key per purpose, so one key is never used for two jobs."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode())
    return hkdf.derive(key)


def key_id(key: bytes) -> str:
    """A short public fingerprint: tells machines apart that hold different keys."""
    return hashlib.sha256(b"memoryd/key-id/" + key).hexdigest()[:16]
