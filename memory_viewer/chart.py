"""Charts as inline SVG, drawn on the server: no script, no library, nothing fetched.

Only presentation attributes are used (fill, stroke), never `style`: the Content-Security-
Policy allows no inline styles.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

from memory_core.clock import ms_from_iso

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 140, 12, 28
COLOURS = ("#2f6fb0", "#d9822b", "#3a9a5b", "#9b59b6", "#c0392b", "#7f8c8d")
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[int, float]]  # (day start in ms, a count or a value)


def cumulative_by(created: list[tuple[int, str]]) -> tuple[list[int], list[Series]]:
    """(created_ms, group) pairs as one running total per group, per day."""
    if not created:
        return [], []
    per_day: dict[str, Counter[int]] = defaultdict(Counter)
    for ms, group in created:
        per_day[group][ms - ms % DAY_MS] += 1
    days = sorted({day for counts in per_day.values() for day in counts})
    series = []
    for group in sorted(per_day, key=lambda g: -sum(per_day[g].values())):
        total, points = 0, list[tuple[int, float]]()
        for day in days:
            total += per_day[group][day]
            points.append((day, total))
        series.append(Series(group, points))
    return days, series


def line_chart(created: list[tuple[int, str]], title: str) -> Markup:
    """Memories over time: one cumulative line per group (the source), days on the x axis."""
    days, series = cumulative_by(created)
    if not series:
        return Markup('<p class="muted">No memories yet.</p>')
    return draw(title, days[0], days[-1], series)


def daily_chart(
    title: str, days: list[dict[str, Any]], lines: dict[str, Callable[[dict[str, Any]], Any]]
) -> Markup:
    """Per-day values (the daemon's /api/stats/daily), one line per entry of `lines`: its
    label and how to read its value from a day (None: no value that day)."""
    series = []
    for name, read in lines.items():
        points = [
            (int(ms_from_iso(f"{day['day']}T00:00:00+00:00")), value)
            for day in days
            if (value := read(day)) is not None
        ]
        if points:
            series.append(Series(name, points))
    if not series:
        return Markup('<p class="muted">Nothing counted yet.</p>')
    every = [d for s in series for d, _ in s.points]
    return draw(title, min(every), max(every), series)


def draw(title: str, first: int, last: int, series: list[Series]) -> Markup:
    """Lines over days, as an SVG (numbers and escaped text only)."""
    top = max(max(c for _, c in s.points) for s in series) or 1
    span = max(last - first, DAY_MS)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: int) -> float:
        return LEFT + plot_w * (day - first) / span

    def y(count: float) -> float:
        return TOP + plot_h * (1 - count / top)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        'stroke="#999"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#999"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11">{top:g}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
        f'<text x="{LEFT}" y="{HEIGHT - 8}" font-size="11">{_day(first)}</text>',
        f'<text x="{LEFT + plot_w}" y="{HEIGHT - 8}" text-anchor="end" font-size="11">'
        f"{_day(last)}</text>",
    ]
    for index, line in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        points = list(line.points)
        if len(points) == 1:  # a single day: draw it as a flat segment
            points.append((first + span, points[0][1]))
        coords = " ".join(f"{x(d):.1f},{y(c):.1f}" for d, c in points)
        parts.append(
            f'<polyline class="series" data-series="{escape(line.name)}" fill="none" '
            f'stroke="{colour}" stroke-width="2" points="{coords}"/>'
        )
        legend_y = TOP + 14 + 18 * index
        parts.append(
            f'<rect x="{WIDTH - RIGHT + 12}" y="{legend_y - 9}" width="10" height="10" '
            f'fill="{colour}"/>'
            f'<text x="{WIDTH - RIGHT + 28}" y="{legend_y}" font-size="12">'
            f"{escape(line.name)} ({line.points[-1][1]:g})</text>"
        )
    parts.append("</svg>")
    # Every text in `parts` went through escape(); the rest are numbers and fixed markup.
    return Markup("".join(parts))  # noqa: S704


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")
