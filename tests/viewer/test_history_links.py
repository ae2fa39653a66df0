"""What the memory page says each version did to the links (memory_viewer.history_links):
added and removed against the version before, `supersedes` included, the links then when
the version before is unknown, and nothing for versions recorded before links were."""

from __future__ import annotations

from typing import Any

from memory_viewer.history_links import LinkChange, link_changes, linked_ids

A, B, C = "0190aaaa-0000-7000-8000-00000000000a", "0190aaaa-0000-7000-8000-00000000000b", "c"


def version(seq: int, action: str, changed: list[str], **fields: Any) -> dict[str, Any]:
    return {"seq": seq, "action": action, "changed": changed, "fields": fields}


def test_added_and_removed_against_the_version_before() -> None:
    versions = [
        version(4, "changed", ["supersedes"], links=[["part-of", B]], supersedes=C),
        version(3, "changed", ["links"], links=[["part-of", B]], supersedes=None),
        version(2, "changed", ["content"], links=[["see-also", A]], supersedes=None),
        version(1, "created", [], links=[["see-also", A]], supersedes=None),
    ]
    assert link_changes(versions) == {
        4: [LinkChange("added", "supersedes", C)],
        3: [LinkChange("added", "part-of", B), LinkChange("removed", "see-also", A)],
        1: [LinkChange("added", "see-also", A)],
    }
    assert linked_ids(link_changes(versions)) == [C, B, A]


def test_versions_recorded_before_links_were_say_nothing() -> None:
    versions = [
        version(3, "changed", ["links"], links=[["see-also", A], ["see-also", B]]),
        version(2, "changed", ["supersedes"], supersedes=C),  # before migration 18
        version(1, "created", [], supersedes=None),
    ]
    # The version before has no links recorded: the links then, not a difference.
    assert link_changes(versions) == {
        3: [LinkChange("had", "see-also", A), LinkChange("had", "see-also", B)]
    }


def test_a_delete_changes_no_link() -> None:
    versions = [
        version(2, "deleted", [], links=[["see-also", A]]),
        version(1, "created", [], links=[["see-also", A]]),
    ]
    assert list(link_changes(versions)) == [1]
