"""Moving an original server's memories to memory-hub (docs/hub.md, "Migrating from
claude-memory-mcp"): its /api/memories/sync dump posts to the hub's import as it is; the integer
ids are kept, so the `server_id`s in its clients' caches still name the same memories; a second
run imports nothing twice."""

from __future__ import annotations

from collections.abc import Callable

from tests.contract_original.client import HttpOnlyTools, OriginalApi
from tests.contract_original.machine import Machine

# What the original's GET /api/memories/sync answered for one user (ids from its SERIAL, shared
# by all its users, so one user's ids have gaps).
DUMP = {
    "memories": [
        {"id": 3, "content": "Prod deploys need two approvals", "category": "process",
         "tags": "deploy,prod", "expanded_keywords": "release change", "importance": 0.9,
         "is_sensitive": False, "created_at": "2026-03-14T10:00:00.123456+00:00",
         "updated_at": "2026-03-15T11:30:00+00:00", "deleted_at": None},
        {"id": 57, "content": "Redis eviction bit us twice", "category": "gotchas",
         "tags": "redis", "expanded_keywords": "", "importance": 0.5, "is_sensitive": False,
         "created_at": "2026-04-01T00:00:00+00:00", "updated_at": "2026-04-01T00:00:00+00:00",
         "deleted_at": None},
        # A sensitive row, its content taken from the old server's /secret (docs/hub.md).
        {"id": 12, "content": "The NAS admin passphrase is correct-horse-battery",
         "category": "infrastructure", "tags": "nas", "expanded_keywords": "", "importance": 0.7,
         "is_sensitive": True, "created_at": "2026-03-20T00:00:00+00:00",
         "updated_at": "2026-03-20T00:00:00+00:00", "deleted_at": None},
    ],
    "server_time": "2026-05-01T00:00:00+00:00",
}  # fmt: skip


def test_a_dump_imports_with_its_ids_and_the_caches_stay_valid(
    api: OriginalApi, tools: HttpOnlyTools, machine: Callable[..., Machine]
) -> None:
    # A laptop synced with the old server: its cache holds the old server ids.
    laptop = machine()
    for row in DUMP["memories"]:
        laptop.db.execute(
            "INSERT INTO memories (content, category, tags, created_at, updated_at, server_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (row["content"], row["category"], row["tags"], row["created_at"],
             row["updated_at"], row["id"]),
        )  # fmt: skip
    laptop.db.commit()

    answer = api.call("POST", "/api/memories/import", DUMP)
    assert [(m["id"], m["status"]) for m in answer] == [(3, "imported"), (57, "imported"),
                                                        (12, "imported")]  # fmt: skip
    again = api.call("POST", "/api/memories/import", DUMP)
    assert [(m["id"], m["status"]) for m in again] == [(3, "exists"), (57, "exists"),
                                                       (12, "exists")]  # fmt: skip
    assert tools.secret_get(12) == (
        "#12 [infrastructure] The NAS admin passphrase is correct-horse-battery"
    )
    got = api.call("GET", "/api/memories/3")
    assert (got["content"], got["tags"], got["importance"]) == (
        "Prod deploys need two approvals",
        "deploy,prod",
        0.9,
    )
    assert got["created_at"].startswith("2026-03-14T10:00:00.123")
    assert tools.memory_store("A new one after the move", "after migration").startswith(
        "Stored memory #58 "
    )

    laptop.full_resync()  # the switch: its start-up sync against the hub
    assert [(r["server_id"], r["content"]) for r in laptop.rows()] == [
        (3, "Prod deploys need two approvals"),
        (12, "[SENSITIVE - use secret_get(id=12)]"),
        (57, "Redis eviction bit us twice"),
        (58, "A new one after the move"),
    ]


def test_a_number_already_held_is_not_taken(api: OriginalApi) -> None:
    api.call("POST", "/api/memories", {"content": "already on the hub"})  # holds number 1
    answer = api.call("POST", "/api/memories/import", [{"id": 1, "content": "from the old server"}])
    assert answer[0]["status"] == "imported" and answer[0]["id"] == 2
    assert api.call("GET", "/api/memories/1")["content"] == "already on the hub"


def test_a_bad_row_is_skipped_by_its_id_and_a_rerun_adds_nothing(api: OriginalApi) -> None:
    """The issue's row of 2,017 characters no longer fails the move: it is left out of the
    original's answer list (every entry still `{id, category, importance}`) and named by its
    id in the source database in the report (`?report=1`, the recipe in docs/hub.md)."""
    dump = {
        "memories": [
            DUMP["memories"][0],
            {**DUMP["memories"][1], "id": 58, "content": "y" * 2017},
            DUMP["memories"][1],
        ]
    }
    answer = api.call("POST", "/api/memories/import", dump)
    assert [(m["id"], m["category"], m["importance"]) for m in answer] == [
        (3, "process", 0.9),
        (57, "gotchas", 0.5),
    ]
    report = api.call("POST", "/api/memories/import?report=1", dump)
    assert (report["imported"], report["existing"]) == (0, 2)
    [skipped] = report["rejected"]
    assert (skipped["id"], skipped["code"]) == (58, "content_too_long")
    assert "2017 characters" in skipped["reason"]
    assert api.call("GET", "/api/memories")["total"] == 2
