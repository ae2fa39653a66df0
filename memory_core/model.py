"""The memory: its fields, its categories, and the rules every write obeys."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from memory_core.errors import ContentTooLong, InvalidInput, UnknownCategory

# The categories a memory may have: memoryd's first five, then the rest of the original
# project's canonical seventeen (claude-memory-mcp ADR-0007), so that its stores import and sync
# as they are. The one definition: daemon, hub, shim, merge and import all read it.
CATEGORIES = (
    "facts",
    "preferences",
    "projects",
    "people",
    "decisions",
    "gotchas",
    "references",
    "infrastructure",
    "runbook",
    "lessons",
    "operations",
    "post-mortems",
    "incidents",
    "feedback",
    "process",
    "architecture",
    "sessions",
)
SOURCES = ("manual", "auto-learn", "import")

# The spellings folded to each category on write (after case and surrounding whitespace):
# the original's drift twins (its fold map: gotcha, bug, project, reference, infra, incident,
# procedures) and memoryd's own short forms.
_FOLDED_FROM = {
    "facts": ("fact",),
    "preferences": ("preference", "pref", "prefs"),
    "projects": ("project",),
    "people": ("person", "peoples"),
    "decisions": ("decision",),
    "gotchas": ("gotcha", "bug"),
    "references": ("reference",),
    "infrastructure": ("infra",),
    "runbook": ("procedures",),
    "incidents": ("incident",),
}
CATEGORY_FOLDS = {
    spelling: category for category, spellings in _FOLDED_FROM.items() for spelling in spellings
}

# The fields every memory has a value for: a creation sets them all.
CREATION_FIELDS = (
    "content",
    "category",
    "tags",
    "expanded_keywords",
    "importance",
    "is_sensitive",
    "project",
    "source",
)
# The fields that replicate, each with its own last-writer-wins clock. `supersedes` (the id of
# the older memory this one replaces) and `links` (its other typed links, memory_core.links)
# are set only on a memory that has them, so the ops of every other memory stay readable by a
# hub or replica that predates them.
SYNCED_FIELDS = (*CREATION_FIELDS, "supersedes", "links")

MAX_TAGS = 32
MAX_TAG_CHARS = 64
MAX_KEYWORDS_CHARS = 2000
MAX_PROJECT_CHARS = 200
SENSITIVE_PLACEHOLDER = "[SENSITIVE - use secret_get(id={id})]"
# The last instant ISO-8601 and Python's datetime can write (9999-12-31T23:59:59.999Z): every
# time a memory carries lies in [0, MAX_TIME_MS], so every answer can render it.
MAX_TIME_MS = 253_402_300_799_999

# What no store can keep or no answer can carry: NUL (PostgreSQL's text refuses it) and lone
# surrogates (half of a UTF-16 pair, e.g. an emoji cut in two), which are not UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_text(name: str, value: str) -> str:
    """Any Unicode text but NUL and lone surrogates: the rule for every text field."""
    found = _UNSTORABLE.search(value)
    if found is not None:
        what = "a NUL character" if found.group() == "\x00" else "a lone surrogate (half a pair)"
        raise InvalidInput(
            f"{name} holds {what} at position {found.start()}: send Unicode text without NUL"
        )
    return value


def check_filter(name: str, value: str | None) -> str | None:
    """A list or recall filter: text by the same rule, blank meaning no filter."""
    if value is None:
        return None
    return check_text(name, value).strip() or None


def check_time_ms(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIME_MS:
        raise InvalidInput(
            f"{name} must be a time between 1970-01-01 and 9999-12-31 "
            f"(milliseconds from 0 to {MAX_TIME_MS})"
        )
    return value


def normalize_category(value: str) -> str:
    """A category as stored: case and surrounding whitespace dropped, a known twin folded;
    anything else is refused (422) with the allowed set, never rewritten to another one."""
    key = check_text("category", value).strip().lower()
    key = CATEGORY_FOLDS.get(key, key)
    if key not in CATEGORIES:
        shown = value if len(value) <= 60 else value[:60] + "…"
        raise UnknownCategory(f"unknown category {shown!r}; use one of: {', '.join(CATEGORIES)}")
    return key


def parse_tags(value: str | Iterable[str] | None) -> list[str]:
    """Tags as a list; the original's comma-separated string is accepted too."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    tags: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidInput("tags must be strings")
        tag = " ".join(check_text("tags", item).split()).lower()
        if not tag or tag in tags:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise InvalidInput(f"tag {tag[:20]!r}… is longer than {MAX_TAG_CHARS} characters")
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags per memory")
    return tags


def check_content(content: str, max_chars: int) -> str:
    text = check_text("content", content).strip()
    if not text:
        raise InvalidInput("content is empty")
    if len(text) > max_chars:
        raise ContentTooLong(
            f"content is {len(text)} characters, over the limit of {max_chars}. Split it into "
            "smaller self-contained memories (one fact, preference or decision each), or store "
            "a short summary and the details as separate memories tagged alike."
        )
    return text


def check_importance(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(f"importance must be between 0 and 1 (got {value})")
    return float(value)


def check_keywords(value: str) -> str:
    text = " ".join(check_text("expanded_keywords", value).split())
    if len(text) > MAX_KEYWORDS_CHARS:
        raise InvalidInput(f"expanded_keywords is longer than {MAX_KEYWORDS_CHARS} characters")
    return text


def check_project(value: str | None) -> str | None:
    if value is None:
        return None
    text = check_text("project", value).strip()
    if len(text) > MAX_PROJECT_CHARS:
        raise InvalidInput(f"project is longer than {MAX_PROJECT_CHARS} characters")
    return text or None


def check_source(value: str) -> str:
    if value not in SOURCES:
        raise InvalidInput(f"unknown source {value!r}; use one of: {', '.join(SOURCES)}")
    return value


def normalize_for_dedup(content: str) -> str:
    return " ".join(content.casefold().split())


_ID_CHARS = re.compile(r"^[0-9a-f-]{4,36}$")


def is_id(value: object) -> bool:
    """Whether `value` has the shape of a memory id (or of a prefix of one)."""
    return isinstance(value, str) and _ID_CHARS.match(value) is not None


# The largest short integer id: SQLite's and PostgreSQL's 64-bit integers.
MAX_NUM = (1 << 63) - 1


def parse_num(value: str) -> int | None:
    """`value` as a short integer id (`42`: ASCII digits, no leading zero, within 64 bits), or
    None when it is not one. A UUID or a prefix of one is never read as a number unless it is
    all digits and starts with 1-9; memoryd's UUIDv7 ids start with 0, so a prefix of one
    never is."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or text.startswith("0") or len(text) > 19:
        return None
    number = int(text)
    return number if number <= MAX_NUM else None


def check_id(value: str) -> str:
    text = value.strip().lower()
    if not is_id(text):
        raise InvalidInput(f"{value!r} is not a memory id")
    return text


@dataclass
class Memory:
    """One memory as stored. For a sensitive memory `content` is None (the plaintext is only
    in the row's sealed column); for a deleted one, nothing."""

    id: str
    content: str | None
    category: str
    tags: list[str]
    expanded_keywords: str
    importance: float
    is_sensitive: bool
    project: str | None
    source: str
    created_ms: int
    updated_ms: int
    deleted_ms: int | None = None
    field_hlc: dict[str, int] = field(default_factory=dict)
    # The id of the older memory this one replaces (kept for history, never shown above it).
    supersedes: str | None = None
    # Its other typed links, sorted `[type, id]` pairs (memory_core.links).
    links: list[list[str]] = field(default_factory=list)
    # The short integer id of this store (the daemon's rowid, the hub's per-user number);
    # local to where it was read, unlike `id`; None where the store has none.
    num: int | None = None
    # The owner's user name when this is another user's memory shared with the reader (only
    # a hub knows: memoryd's HTTP-only mode); None for the reader's own. Never stored.
    shared_by: str | None = None

    @classmethod
    def blank(
        cls,
        memory_id: str,
        *,
        created_ms: int = 0,
        updated_ms: int | None = None,
        content: str | None = None,
        category: str = "facts",
        source: str = "manual",
        is_sensitive: bool = False,
    ) -> Memory:
        """A memory with every other field at its default: a row about to be filled in, or
        one known only by the few fields an answer carries."""
        return cls(
            id=memory_id,
            content=content,
            category=category,
            tags=[],
            expanded_keywords="",
            importance=0.5,
            is_sensitive=is_sensitive,
            project=None,
            source=source,
            created_ms=created_ms,
            updated_ms=created_ms if updated_ms is None else updated_ms,
        )

    @property
    def deleted(self) -> bool:
        return self.deleted_ms is not None

    def shown_content(self) -> str:
        if self.is_sensitive:
            return SENSITIVE_PLACEHOLDER.format(id=self.id)
        return self.content or ""
