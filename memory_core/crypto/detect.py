"""Finds secrets in text, so that memories holding them are stored encrypted.

Conservative by design: a false positive costs the user one `secret_get` call, a false negative
leaks a credential into a plaintext index.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # The whole block, body included (to its END line, or to the end of the text when cut
    # short): the base64 body is the secret, not the header.
    (
        "private_key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|.*\Z)",
            re.DOTALL,
        ),
    ),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b")),
    ("gcp_api_key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("gcp_service_account", re.compile(r'"type"\s*:\s*"service_account"')),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}")),
    ("slack_token", re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}")),
    ("slack_webhook", re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9/]{20,}")),
    ("stripe_key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("anthropic_key", re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{20,}")),
    ("openai_key", re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    (
        "url_password",
        re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]+:[^\s@/]{3,}@[^\s/]+"),
    ),
    ("bearer_token", re.compile(r"\b[Bb]earer\s+[A-Za-z0-9_\-.=+/]{20,}")),
    (
        "assignment",
        re.compile(
            r"(?i)\b(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key"
            r"|private[_-]?key|client[_-]?secret|auth[_-]?token)s?[\"']?\s*[:=]\s*[\"']?"
            r"(?!\[REDACTED)[^\s\"',;]{6,}"
        ),
    ),
]

_CANDIDATE = re.compile(r"[A-Za-z0-9+/=_\-]{32,}")
_ENTROPY_BITS = 4.3


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _high_entropy(text: str) -> list[Finding]:
    found = []
    for match in _CANDIDATE.finditer(text):
        token = match.group()
        has_digit = any(c.isdigit() for c in token)
        has_alpha = any(c.isalpha() for c in token)
        if has_digit and has_alpha and _entropy(token) >= _ENTROPY_BITS:
            found.append(Finding("high_entropy", match.start(), match.end()))
    return found


def find_secrets(text: str) -> list[Finding]:
    """Every secret-looking span, in text order; overlapping spans are merged."""
    spans = [Finding(kind, m.start(), m.end()) for kind, rx in _PATTERNS for m in rx.finditer(text)]
    spans += _high_entropy(text)
    spans.sort(key=lambda f: (f.start, -f.end))
    merged: list[Finding] = []
    for span in spans:
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Finding(last.kind, last.start, max(last.end, span.end))
        else:
            merged.append(span)
    return merged


def contains_secret(text: str) -> bool:
    return bool(find_secrets(text))


def redact(text: str) -> str:
    """The text with every secret replaced by `[REDACTED:<kind>]`."""
    out, pos = [], 0
    for finding in find_secrets(text):
        out.append(text[pos : finding.start])
        out.append(f"[REDACTED:{finding.kind}]")
        pos = finding.end
    out.append(text[pos:])
    return "".join(out)
