"""Hostile values, one family per kind of attack, for the fuzz of the daemon's and the hub's
routes: what goes into a JSON body (`json_values`) and what goes into a path segment or a query
value, already percent-encoded (`url_values`).

A JSON value may hold `Raw` fragments: JSON text sent as it is, for what `json.dumps` cannot or
will not write (integers over 4,300 digits, 100,000 levels of nesting, `1e400`). `encode` writes
a value with lone surrogates as `\\udXXX` escapes (valid JSON, invalid Unicode), or, with
`raw_utf8`, as the bytes a careless client would send (invalid UTF-8).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st


@dataclass(frozen=True)
class Raw:
    """JSON text sent as is."""

    text: str

    def __repr__(self) -> str:  # hypothesis prints the failing example: keep it readable
        shown = self.text if len(self.text) <= 60 else f"{self.text[:40]}…({len(self.text)} chars)"
        return f"Raw({shown!r})"


def encode(value: Any, raw_utf8: bool = False) -> bytes:
    return _encode(value, not raw_utf8).encode("utf-8", "surrogatepass")


def _encode(value: Any, ascii_only: bool) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k), ensure_ascii=ascii_only)}:{_encode(v, ascii_only)}"
                 for k, v in value.items())  # fmt: skip
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v, ascii_only) for v in value) + "]"
    # NaN and Infinity as Python writes them; lone surrogates as escapes or as themselves.
    return json.dumps(value, ensure_ascii=ascii_only)


def url(text: str) -> str:
    """`text` percent-encoded for a path segment or a query value (lone surrogates as the
    UTF-8 bytes they would be)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


MEGABYTE = "x" * 1_000_000

# Valid Unicode that has broken parsers, indexes, logs and terminals before.
NASTY_TEXT = (
    "",
    " ",
    "\t\r\n",
    "\u202egnp.exe\u202c",  # right-to-left override
    "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",  # Hebrew and Arabic
    "\u200b\u200c\u200d\ufeff",  # zero-width characters and a BOM
    "\x07\x08\x1b[2J\x1b]0;pwned\x07\x7f",  # bell, backspace, terminal escapes, DEL
    "\x01\x02\x03\x1f",
    "\u0085\u2028\u2029",  # next-line and the Unicode line and paragraph separators
    "\U0001f600" * 300,
    "e\u0301" * 500,  # combining accents
    "\uffff\ufffe\U0010ffff\ue000",  # noncharacters and private use
    "%s%n%x{0}{{}}",
    "'; DROP TABLE memories; --",
    '"',
    "NEAR(a b) OR c* AND NOT d",
    '"unterminated',
    "content: ^ - + ( ) :",
    "\\",
    "../../../../etc/passwd",
    "<script>alert(1)</script>",
    "${jndi:ldap://127.0.0.1/x}",
    "a" * 4097,
    "\u00df" * 2000,
)

_PLAIN = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)


def _with(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A string holding `inner` somewhere."""
    return st.builds(lambda a, b, c: a + b + c, _PLAIN, inner, _PLAIN)


_SURROGATE = st.characters(categories=("Cs",))
_NUL = st.sampled_from(("\x00", "\x00" * 3))

EDGE_NUMBERS: tuple[Any, ...] = (
    0,
    -1,
    1,
    2**31,
    2**32,
    2**53 + 1,
    2**62,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    2**64,
    10**100,
    -(10**100),
    10**4000,
    0.5,
    -0.0,
    1e-320,
    1e308,
    -1e308,
    math.nan,
    math.inf,
    -math.inf,
    Raw("1e400"),
    Raw("-1e400"),
    Raw("1E+2"),
    Raw("0.1e1"),
    True,
    False,
)

WRONG_TYPES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    1.5,
    "",
    "s",
    [],
    [1],
    ["a", None],
    {},
    {"a": 1},
    [[[]]],
    {"": None},
)

_NESTED = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=30,
)
MODERATELY_DEEP = (Raw("[" * 200 + "]" * 200), Raw('{"a":' * 200 + "1" + "}" * 200))
VERY_DEEP = (
    Raw("[" * 100_000 + "]" * 100_000),
    Raw('{"a":' * 100_000 + "1" + "}" * 100_000),
    Raw("[" * 3000 + "]" * 3000),
)


def huge_ints() -> st.SearchStrategy[Raw]:
    """Integers over Python's 4,300-digit limit for int(str)."""
    return st.builds(
        lambda digits, sign: Raw(sign + "9" * digits),
        st.integers(4301, 20_000),
        st.sampled_from(("", "-")),
    )


def json_values(kind: str) -> st.SearchStrategy[Any]:
    """What an attacker puts in one place of a JSON body, for each kind of attack."""
    if kind == "text":
        return st.sampled_from((*NASTY_TEXT, MEGABYTE)) | _PLAIN
    if kind == "surrogate":
        return _with(_SURROGATE) | st.lists(_with(_SURROGATE), min_size=1, max_size=3)
    if kind == "nul":
        return _with(_NUL) | st.lists(_with(_NUL), min_size=1, max_size=3)
    if kind == "number":
        return st.sampled_from(EDGE_NUMBERS) | st.integers() | st.floats()
    if kind == "huge_int":
        return huge_ints()
    if kind == "type":
        return st.sampled_from(WRONG_TYPES)
    if kind == "nested":
        return st.sampled_from(MODERATELY_DEEP) | _NESTED
    if kind == "deep":
        return st.sampled_from(VERY_DEEP)
    raise ValueError(f"no JSON values for {kind!r}")


_URL_NUMBERS = (
    "-1",
    "0",
    "-0",
    "+1",
    " 1",
    "1 ",
    "1.0",
    "1e3",
    "1e400",
    "NaN",
    "inf",
    "0x10",
    "1_000",
    "\u00b2",  # superscript two: str.isdigit() says yes, int() says no
    "\u0661\u0662",  # Arabic-Indic digits: int() takes them
    "\u216b",  # Roman numeral twelve
    "9223372036854775808",
    "18446744073709551616",
    "9" * 30,
    "9" * 4000,
)
_URL_TYPES = ("", "null", "[]", "{}", "true", "[1,2]", '{"a":1}')
# Path segments that are not a memory id, or are one in disguise.
BAD_IDS = (
    "0",
    "-1",
    "..",
    ".",
    "%2e%2e",
    "%2F",
    "%2Fetc%2Fpasswd",
    "%20",
    "%00",
    "%FF",
    "%ED%A0%80",
    "%C0%AF",
    "x" * 4000,
    "9" * 4301,
    "%C2%B2",
    "%D9%A1%D9%A2",
    "%27%20OR%20%271%27%3D%271",
    "%2A",
    "%25",
    "_",
    "0000dead",
    "0000dea",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "18446744073709551616",
    "1.0",
    "1e3",
    "%E2%80%AE",
)


def url_values(kind: str, real_id: str | None = None) -> st.SearchStrategy[str]:
    """What an attacker puts in a path segment or a query value, percent-encoded. `real_id`
    is an id that exists, for disguises of it (upper case, a short prefix, a suffix)."""
    if kind == "text":
        return st.sampled_from(NASTY_TEXT).map(url) | _PLAIN.map(url)
    if kind == "surrogate":
        return st.sampled_from(("%ED%A0%80", "%ED%BF%BF", "%FF", "%C0%AF", "%E2%82")) | _with(
            _SURROGATE
        ).map(url)
    if kind == "nul":
        return st.sampled_from(("%00", "a%00b")) | _with(_NUL).map(url)
    if kind == "number":
        return st.sampled_from(_URL_NUMBERS).map(url) | st.integers().map(str)
    if kind == "huge_int":
        return st.integers(4301, 6000).map(lambda digits: "9" * digits)
    if kind == "type":
        return st.sampled_from(_URL_TYPES).map(url)
    if kind == "id":
        disguises: tuple[str, ...] = ()
        if real_id:
            disguises = (real_id.upper(), real_id[:8], real_id[:4], real_id + "x", real_id + "%0A")
        return st.sampled_from((*BAD_IDS, *disguises))
    raise ValueError(f"no URL values for {kind!r}")
