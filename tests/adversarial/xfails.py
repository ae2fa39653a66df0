"""The fuzz's known failures, as (route, kind) -> reason: each a defect another branch fixes,
marked xfail(strict) so that the test flips, and its entry here must go, when the fix merges.
Empty now: issue 17's defect 10 (deep JSON, huge integers, NUL on the hub), the last ones
listed here, was fixed by the rules branch."""

from __future__ import annotations

DAEMON_DEFECTS: dict[tuple[str, str], str] = {}
HUB_DEFECTS: dict[tuple[str, str], str] = {}
