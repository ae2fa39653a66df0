"""Bodies no server may store (issue 17, defects 3 and 10), shared by the daemon's and the
hub's tests: each must be a 422 `invalid` on store, update and import."""

from __future__ import annotations

import json
from typing import Any

SURROGATE = "\ud800"  # what a client sends when it cuts an emoji in half

BODIES: dict[str, dict[str, Any]] = {
    "surrogate-tag": {"content": "ok", "tags": [SURROGATE]},
    "surrogate-tag-string": {"content": "ok", "tags": "a," + SURROGATE},
    "surrogate-project": {"content": "ok", "project": SURROGATE},
    "surrogate-keywords": {"content": "ok", "expanded_keywords": "a" + SURROGATE},
    "surrogate-content": {"content": SURROGATE + " half an emoji"},
    "surrogate-category": {"content": "ok", "category": "facts" + SURROGATE},
    "nul-content": {"content": "nul \x00 inside"},
    "nul-tag": {"content": "ok", "tags": ["nul\x00"]},
    "nul-project": {"content": "ok", "project": "p\x00"},
    "nul-keywords": {"content": "ok", "expanded_keywords": "k\x00"},
}

# A patch with the same fault: the body without its content, or only its content.
PATCHES = {
    name: {k: v for k, v in body.items() if k != "content"} or {"content": body["content"]}
    for name, body in BODIES.items()
}

DEEP = b"[" * 100_000 + b"]" * 100_000  # JSON nested far past Python's recursion limit
DEEP_FIELD = b'{"content": ' + b"[" * 5000 + b"]" * 5000 + b"}"
HUGE_INT = b'{"content": "x", "importance": ' + b"9" * 5000 + b"}"  # past 4,300 digits


def raw(body: Any) -> bytes:
    """JSON as such a client sends it: the lone surrogate escaped (`\\ud800`)."""
    return json.dumps(body).encode()
