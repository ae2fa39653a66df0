"""What each version of a memory's history did to its links, for the memory page: the links
it added and removed (the typed links and `supersedes`), read by comparing each version's
fields with the version before it.

A version recorded before the daemon kept links in its history (migration 18) has no `links`
field: nothing is said about it ("no change recorded", not "no links"). When the version before
is not known (pruned, or recorded before migration 18), a version that changed the links lists
the links it had then instead of a difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LINK_FIELDS = ("links", "supersedes")


@dataclass(frozen=True)
class LinkChange:
    how: str  # "added", "removed", or "had" (the links then, the version before unknown)
    type: str
    id: str


def _pairs(fields: dict[str, Any]) -> set[tuple[str, str]] | None:
    """A version's links as `(type, id)` pairs, `supersedes` included; None when the version
    did not record its links."""
    if "links" not in fields:
        return None
    pairs = {(str(kind), str(dst)) for kind, dst in fields["links"] or []}
    if fields.get("supersedes"):
        pairs.add(("supersedes", str(fields["supersedes"])))
    return pairs


def link_changes(versions: list[dict[str, Any]]) -> dict[int, list[LinkChange]]:
    """The link changes of each version (by `seq`) that has any; `versions` newest first, as
    `GET /api/memories/{id}/history` answers them."""
    found: dict[int, list[LinkChange]] = {}
    for index, version in enumerate(versions):
        now = _pairs(version.get("fields") or {})
        if now is None or version["action"] == "deleted":
            continue  # not recorded; a delete changes no link (it keeps them for a restore)
        before: set[tuple[str, str]] | None = set()
        if version["action"] != "created":
            if not set(LINK_FIELDS) & set(version.get("changed") or []):
                continue
            older = versions[index + 1] if index + 1 < len(versions) else {}
            before = _pairs(older.get("fields") or {})
        if before is None:
            changes = [LinkChange("had", kind, dst) for kind, dst in sorted(now)]
        else:
            changes = [LinkChange("added", kind, dst) for kind, dst in sorted(now - before)]
            changes += [LinkChange("removed", kind, dst) for kind, dst in sorted(before - now)]
        if changes:
            found[version["seq"]] = changes
    return found


def linked_ids(changes: dict[int, list[LinkChange]]) -> list[str]:
    """The memories the changes name, each once, in order."""
    return list(dict.fromkeys(change.id for listed in changes.values() for change in listed))
