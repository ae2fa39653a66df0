"""Secret detection (memory_core/crypto/detect.py) on secrets said in plain words, and on the
ordinary sentences about passwords and keys that must stay plain: a false positive hides a
memory's content behind secret_get, a false negative leaks a credential into the index."""

from __future__ import annotations

import pytest

from memory_core.crypto.detect import contains_secret, redact

SAID_IN_WORDS = [
    ("the password is hunter2", "hunter2"),
    ("The wifi password for the office is Tr0ub4dor&3.", "Tr0ub4dor&3"),
    ("my passphrase: correct horse battery staple", "correct"),
    ("api key = 4f9a8b7c6d", "4f9a8b7c6d"),
    ("the api key = abcdefghijk", "abcdefghijk"),
    ("the PIN is 4821", "4821"),
    ("the admin password was changed to 'swordfish'", "swordfish"),
    ("The root password is now Summer2024!", "Summer2024"),
    ("the API key is 9f8e7d6c5b4a", "9f8e7d6c5b4a"),
    ("the db password has been set to Xk29-lq", "Xk29-lq"),
    ("Passcode: 771903", "771903"),
    ("The deploy token is ab12cd34ef", "ab12cd34ef"),
]

ORDINARY = [
    "The password is stored in 1Password, never in the repo",
    "Reset the password via the admin panel",
    "The password is required for every deploy",
    "Password must be at least 12 characters",
    "The password policy is 90 days",
    "The token is refreshed every 15 minutes",
    "The api key is in the .env file, loaded by direnv",
    "The API key is read from $OPENAI_API_KEY",
    "The api key is $OPENAI_API_KEY",
    "Our password manager is Bitwarden 2024",
    "The access token is valid for 3600 seconds",
    "The password is 8-character minimum",
    "The token is a 32-byte random string",
    "The private key is ~/.ssh/id_ed25519",
    "The secret to fast builds is ccache4",
    "Token auth is configured in settings.py",
    "The PIN is required at the door",
    "We use pnpm 9 and Python 3.11",
    "The password is https://vault.example.com/item/42",
    "Rotate the API key every 90 days",
    "The passcode is on the sticky note",
    "The password is the same as on staging",
    "Max tokens is 100000 for the judge",
    "The API key is 1Password-managed",
    "The password reset link is valid for 24h",
    "The token limit is 200000",
    "The pin is 3.11.7 in requirements",
    "Passwords are hashed with argon2id",
    "The api key was rotated on 2024-05-01",
    "The password is too short (min 12)",
    "The encryption key is derived with scrypt(n=2**14)",
]


@pytest.mark.parametrize(("text", "secret"), SAID_IN_WORDS)
def test_a_secret_said_in_words_is_found_and_redacted(text: str, secret: str) -> None:
    assert contains_secret(text)
    shown = redact(text)
    assert secret not in shown and "[REDACTED:" in shown


@pytest.mark.parametrize("text", ORDINARY)
def test_an_ordinary_sentence_about_credentials_stays_plain(text: str) -> None:
    assert not contains_secret(text)
    assert redact(text) == text
