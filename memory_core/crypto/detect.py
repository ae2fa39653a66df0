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
            r"(?i)\b(?:password|passwd|passphrase|pwd|secret|token|api[\s_-]?key|access[_-]?key"
            r"|private[_-]?key|client[_-]?secret|auth[_-]?token)s?[\"']?\s*[:=]\s*[\"']?"
            r"(?!\[REDACTED)[^\s\"',;]{6,}"
        ),
    ),
]

# What each pattern cannot match without: literals, one of which must appear in the text (for
# every group given), checked with `in`, a C substring search far cheaper than a regex scan.
# Most notes hold none, so a store of plain prose runs almost none of the scans (they were a
# fifth of a store's CPU); where a literal is there, the pattern runs as before. The patterns
# that ignore case are gated on the lowered text, and only for an ASCII text, since `(?i)`
# also equates a few non-ASCII letters with ASCII ones (the Kelvin sign with k, the long s
# with s) that lowering does not turn into them.
_GATES: dict[str, tuple[bool, tuple[tuple[str, ...], ...]]] = {  # kind: (ignores case, groups)
    "private_key": (False, (("PRIVATE KEY",),)),
    "aws_access_key": (False, (("AKIA", "ASIA", "AGPA", "AIDA", "AROA"),)),
    "gcp_api_key": (False, (("AIza",),)),
    "gcp_service_account": (False, (("service_account",),)),
    "github_token": (False, (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),)),
    "gitlab_token": (False, (("glpat-",),)),
    "slack_token": (False, (("xox",),)),
    "slack_webhook": (False, (("hooks.slack.com/services/",),)),
    "stripe_key": (False, (("_live_", "_test_"),)),
    "anthropic_key": (False, (("sk-ant-",),)),
    "openai_key": (False, (("sk-",),)),
    "jwt": (False, (("eyJ",),)),
    "url_password": (False, (("://",), ("@",))),
    "bearer_token": (False, (("earer",),)),
    "assignment": (True, (("pass", "pwd", "secret", "token", "key"), (":", "="))),
}
# One scan each that says whether any gate can pass at all: for most texts neither finds a
# thing, and nothing else runs but the high-entropy scan.
_CASED_HINT = re.compile(
    "|".join(
        re.escape(literal)
        for ignores_case, groups in _GATES.values()
        if not ignores_case
        for literal in groups[0]
    )
)
_NOUN_HINT = re.compile("pass|pwd|pin|key|token|secret")  # every noun of assignment, _NOUNS


def _may_match(kind: str, text: str, lowered: str | None) -> bool:
    """False only when pattern `kind` cannot match `text`. `lowered`: the text lowered, or
    None when it is not ASCII (a pattern that ignores case must then run)."""
    ignores_case, groups = _GATES[kind]
    if ignores_case:
        if lowered is None:
            return True
        text = lowered
    return all(any(literal in text for literal in group) for group in groups)


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


# A secret said in words: "the password is hunter2", "the wifi password for the office is
# Tr0ub4dor&3", "the PIN was changed to '4821'". The words only say where a secret may be; the
# value decides (`_credential_like`), so that "the password is stored in 1Password" stays plain.
_NOUNS = (  # what a secret is called
    r"(?P<password>pass(?:word|wd|phrase|code)|pwd)|(?P<pin>pin(?:\s+code)?)"
    r"|(?:api|access|secret|private|encryption|master)[\s_-]?key"
    r"|(?:(?:auth|access|api|bearer|refresh)[\s_-]?)?token|client[\s_-]?secret"
)
_IN_WORDS = re.compile(
    rf"(?i)\b(?:{_NOUNS})s?"
    r"(?:\s+(?:for|to|of|on|at|in)(?:\s+[\w.@/-]+){1,3}?)?"  # "for the staging db"
    r"(?:\s*[:=]\s*|(?:\s+(?:is|was|has\s+been))?\s+(?:set|changed|reset)\s+to\s+"
    r"|\s+(?:is|was|are)(?:\s+(?:now|still))?\s+)"
    r"(?P<quote>[\"'`]?)(?P<value>[^\s\"'`]+)"
)
_TRAILING = ".,;:!?)]}"
_SYMBOLS = set("!#$%&*+=?@^|~<>")
# "8-character", "32-byte", "1password-managed": a number qualifying a word, not a secret.
_MEASURE = re.compile(r"(?i)\d+(?:\.\d+)?-?[a-z][a-z-]*")


def _credential_like(value: str, quoted: bool, noun: str) -> bool:
    if quoted:
        return len(value) >= 4
    if "://" in value or value.startswith(("/", "~/", "./", "$", "%", "<", "{")):
        return False  # a URL, a path, a variable or a placeholder: where it is, not what
    if value.isdigit():  # a PIN or a password; for a token or a key, a count ("tokens is 8192")
        return len(value) >= {"pin": 4, "password": 6}.get(noun, len(value) + 1)
    if noun == "pin" or len(value) < 6 or _MEASURE.fullmatch(value):
        return False
    return any(c.isdigit() or c in _SYMBOLS for c in value)


def _in_words(text: str) -> list[Finding]:
    found = []
    for match in _IN_WORDS.finditer(text):
        value = match.group("value").rstrip(_TRAILING)
        noun = "pin" if match.group("pin") else "password" if match.group("password") else "key"
        if _credential_like(value, bool(match.group("quote")), noun):
            start = match.start("value")
            found.append(Finding("secret_in_words", start, start + len(value)))
    return found


def find_secrets(text: str) -> list[Finding]:
    """Every secret-looking span, in text order; overlapping spans are merged."""
    if not text:
        return []
    lowered = text.lower() if text.isascii() else None
    cased = _CASED_HINT.search(text) is not None
    nouns = lowered is None or _NOUN_HINT.search(lowered) is not None
    spans: list[Finding] = []  # in this order: the kind of equal spans is the first one's
    if cased or nouns:
        for kind, rx in _PATTERNS:
            if _may_match(kind, text, lowered):
                spans += [Finding(kind, m.start(), m.end()) for m in rx.finditer(text)]
    spans += _high_entropy(text)
    if nouns:
        spans += _in_words(text)
    return merged(spans)


def merged(spans: list[Finding]) -> list[Finding]:
    """The spans in text order, overlapping ones merged (the kind is the first one's)."""
    spans.sort(key=lambda f: (f.start, -f.end))
    out: list[Finding] = []
    for span in spans:
        if out and span.start < out[-1].end:
            last = out[-1]
            out[-1] = Finding(last.kind, last.start, max(last.end, span.end))
        else:
            out.append(span)
    return out


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
