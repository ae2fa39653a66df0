"""The literal gates of secret detection (memory_core/crypto/detect.py) only skip scans that
could not have matched: detection with them finds exactly what every pattern run on every text
finds: one secret of each kind, alone and inside other text, and texts built to brush past the
gates (near-miss literals, mixed case, the non-ASCII letters that `(?i)` equates with ASCII
ones)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memory_core.crypto import detect
from memory_core.crypto.detect import Finding, find_secrets, merged


def every_pattern_run(text: str) -> list[Finding]:
    spans = [Finding(kind, m.start(), m.end()) for kind, rx in detect._PATTERNS
             for m in rx.finditer(text)]  # fmt: skip
    return merged(spans + detect._high_entropy(text) + detect._in_words(text))


SECRETS = {
    "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQ\n-----END RSA PRIVATE KEY-----",
    "aws_access_key": "AKIAIOSFODNN7EXAMPLE",
    "gcp_api_key": "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "gcp_service_account": '{"type": "service_account"}',
    "github_token": "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6",
    "gitlab_token": "glpat-a1B2c3D4e5F6g7H8i9J0",
    "slack_token": "xoxb-1234567890-abcdef",
    "slack_webhook": "hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX",
    "stripe_key": "sk_live_a1B2c3D4e5F6g7H8",
    "anthropic_key": "sk-ant-api03-a1B2c3D4e5F6",
    "openai_key": "sk-proj-a1B2c3D4e5F6g7H8i9J",
    "jwt": "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.dozjgNryP4J3jVmN",
    "url_password": "postgres://admin:hunter22@db.example.com",
    "bearer_token": "Authorization: Bearer abcdefghijklmnopqrstuv123",
    "assignment": "password=Hunter22x",
    "secret_in_words": "the api key is 4f9a8b7c6d",
    "long_s": "pa\u017fsword=Hunter22x",  # `(?i)` reads the long s as s
    "kelvin_sign": "api \u212aey = 4f9a8b7c6d",  # and the Kelvin sign as k
    "dotted_i": "the P\u0130N is 4821",  # and the dotted capital I as i
}
FRAGMENTS = [
    *SECRETS.values(), "the", "note", " ", "\n", ":", "=", "'", '"', "@", "://", "-", "_", "is ",
    "set to ", "password", "PassWord", "pwd", "PIN", "token", "Bearer ", "secret", "K", "\u212a",
    "\u017f", "\u0130", "\u00e9", "hunter2", "4821", "ghp_", "glpat-", "xoxb-", "sk-", "sk_live_",
    "eyJ", "AKIA", "AIza", "PRIVATE KEY", "0123456789", "abcdefghijklmnopqrstuvwxyz",
]  # fmt: skip


@pytest.mark.parametrize("kind", SECRETS)
def test_each_kind_of_secret_is_found_as_before(kind: str) -> None:
    for text in (SECRETS[kind], f"note 3: we said {SECRETS[kind]} in the standup"):
        found = find_secrets(text)
        assert found and found == every_pattern_run(text), text


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=16))
def test_gated_detection_finds_what_every_pattern_finds(parts: list[str]) -> None:
    text = "".join(parts)
    assert find_secrets(text) == every_pattern_run(text)
