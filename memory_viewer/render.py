"""Pages from Jinja2 templates. Autoescape is on for every template: memory text, tags and
reasons are always inserted as text, never as markup."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from memory_core.clock import ms_from_iso
from memory_core.model import CATEGORIES, SOURCES
from memory_viewer.sessions import Session


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("memory_viewer", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["short_id"] = short_id
    env.globals.update(CATEGORIES=CATEGORIES, SOURCES=SOURCES)
    return env


def when(value: str | int | None) -> str:
    """An API timestamp (ISO-8601, or ms since the epoch) as "2026-11-24 12:00 UTC"."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str) and value.endswith("+00:00") and len(value) >= 16:
        return f"{value[:10]} {value[11:16]} UTC"  # the API's own UTC form: no parsing needed
    ms = value if isinstance(value, int) else ms_from_iso(value)
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def short_id(memory_id: str) -> str:
    return memory_id[:23]  # as the CLI shows it: unique even within one millisecond


def base_path(request: Request) -> str:
    """Where the viewer is served: "" on the daemon, "/ui" on the hub."""
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    env: jinja2.Environment = request.app.state.templates
    session: Session | None = request.scope.get("state", {}).get("session")
    html = env.get_template(template).render(
        base=base_path(request),
        csrf=session.csrf if session else "",
        user=session.user if session else None,
        site=request.app.state.site_name,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)
