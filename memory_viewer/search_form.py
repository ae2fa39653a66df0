"""The search page's filters: what the API filters itself (category, project, and the list's
tag), and what the viewer applies to the API's answer (source, sensitivity, dates, and the tag
of a ranked search), since recall does not take them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from memory_core.clock import ms_from_iso
from memory_core.model import CATEGORIES, SOURCES
from memory_core.wire import rest

PAGE_SIZE = 25
RANKED_LIMIT = 100  # recall's largest answer: how deep ranked results go
SORTS = ("relevance", "importance", "recency")


@dataclass(frozen=True)
class SearchForm:
    q: str = ""
    category: str = ""
    project: str = ""
    tag: str = ""
    source: str = ""
    sensitivity: str = ""  # "", "sensitive" or "plain"
    since: str = ""  # YYYY-MM-DD, created on or after
    until: str = ""  # YYYY-MM-DD, created on or before
    sort: str = "relevance"
    page: int = 0
    problem: str = ""  # a filter that could not be read, said on the page

    @classmethod
    def parse(cls, params: QueryParams) -> SearchForm:
        def text(name: str, limit: int = 500) -> str:
            return params.get(name, "").strip()[:limit]

        problems = []
        category = text("category")
        if category and category not in CATEGORIES:
            problems.append(f"unknown category {category!r}")
            category = ""
        source = text("source")
        if source and source not in SOURCES:
            problems.append(f"unknown source {source!r}")
            source = ""
        sensitivity = text("sensitivity")
        if sensitivity not in ("", "sensitive", "plain"):
            problems.append(f"unknown sensitivity {sensitivity!r}")
            sensitivity = ""
        dates = {}
        for name in ("since", "until"):
            dates[name] = text(name, 10)
            if dates[name] and day_ms(dates[name]) is None:
                problems.append(f"{name} must be a date (YYYY-MM-DD), not {dates[name]!r}")
                dates[name] = ""
        sort = text("sort") or "relevance"
        if sort not in SORTS:
            problems.append(f"unknown order {sort!r}")
            sort = "relevance"
        raw_page = text("page", 6)
        return cls(
            q=text("q", 2000),
            category=category,
            project=text("project", 200),
            tag=text("tag", 64).lower(),
            source=source,
            sensitivity=sensitivity,
            since=dates["since"],
            until=dates["until"],
            sort=sort,
            page=int(raw_page) if _is_small_number(raw_page) else 0,
            problem="; ".join(problems),
        )

    def query(self, page: int) -> str:
        """This search's query string, at another page."""
        fields = {k: v for k, v in asdict(self).items() if v and k not in ("page", "problem")}
        return urlencode({**fields, "page": page})

    @property
    def ranked(self) -> bool:
        return bool(self.q)

    @property
    def filters_after(self) -> bool:
        """Filters the API does not apply to this kind of search."""
        return bool(self.source or self.sensitivity or self.since or self.until) or bool(
            self.ranked and self.tag
        )

    def recall_query(self) -> rest.RecallIn:
        return rest.RecallIn(
            context=self.q,
            category=self.category or None,
            project=self.project or None,
            sort_by=self.sort,  # type: ignore[arg-type]  # checked against SORTS in parse
            limit=self.ranked_limit(),
        )

    def ranked_limit(self) -> int:
        """As many as this page needs, and one more to know whether a next page exists; all
        recall gives when the viewer filters after ranking."""
        if self.filters_after:
            return RANKED_LIMIT
        return min(RANKED_LIMIT, PAGE_SIZE * (self.page + 1) + 1)

    def list_params(self) -> dict[str, str]:
        found = {"category": self.category, "tag": self.tag, "project": self.project}
        return {k: v for k, v in found.items() if v}

    def keeps(self, memory: rest.MemoryOut) -> bool:
        if self.source and memory.source != self.source:
            return False
        if self.sensitivity and memory.is_sensitive != (self.sensitivity == "sensitive"):
            return False
        if self.tag and self.tag not in memory.tags:
            return False
        if self.project and self.ranked and memory.project != self.project:
            # recall ranks the project first but returns others too; the filter is strict
            return False
        created = ms_from_iso(memory.created_at)
        since = day_ms(self.since)
        until = day_ms(self.until)
        if since is not None and created < since:
            return False
        return until is None or created < until + DAY_MS


DAY_MS = int(timedelta(days=1).total_seconds() * 1000)


def day_ms(text: str) -> int | None:
    """Midnight UTC of a YYYY-MM-DD day, or None."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _is_small_number(text: str) -> bool:
    """ASCII digits only, and few of them: `"²".isdigit()` is True but int() refuses it, and
    int() refuses strings over 4,300 digits."""
    return text.isascii() and text.isdigit() and len(text) <= 9
