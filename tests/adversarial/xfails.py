"""The fuzz's known failures: each one a numbered defect of issue 17 that another branch fixes,
marked xfail(strict) so that the test flips, and its entry here must go, when the fix merges."""

from __future__ import annotations

DEEP_AND_HUGE = (
    "issue 17 defect 10 (JSON nested ~100k deep, integers over 4,300 digits: a 500), "
    "fixed on branch rules (memory_core/http/bodies.py parse_json)"
)
NUL_ON_HUB = "issue 17 defect 10 (NUL characters reach PostgreSQL: a 500), fixed on branch rules"

_DAEMON_JSON_ROUTES = (
    "POST /api/memories",
    "POST /api/memories/recall",
    "POST /api/memories/import",
    "PUT /api/memories/{id}",
    "POST /api/hooks/pre-compact",
    "POST /api/hooks/prompt",
    "POST /api/hooks/session-start",
    "POST /api/hooks/stop",
    "POST /api/hooks/tool-used",
    "POST /api/viewer",
)
_HUB_JSON_ROUTES = (
    "POST /api/memories",
    "POST /api/memories/recall",
    "POST /api/memories/import",
    "PUT /api/memories/{id}",
    "POST /api/sync/push",
)

DAEMON_DEFECTS: dict[tuple[str, str], str] = {
    (route, kind): DEEP_AND_HUGE for route in _DAEMON_JSON_ROUTES for kind in ("deep", "huge_int")
}
HUB_DEFECTS: dict[tuple[str, str], str] = {
    **{(route, kind): DEEP_AND_HUGE for route in _HUB_JSON_ROUTES for kind in ("deep", "huge_int")},
    ("POST /api/memories", "nul"): NUL_ON_HUB,
    ("POST /api/memories/import", "nul"): NUL_ON_HUB,
}
