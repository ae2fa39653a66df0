"""The original in hybrid mode against memory-hub: two machines of one user, each a local
SQLite cache with the original's schema (tags a TEXT column), synced by the original's engine
steps (tests/contract_original/machine.py). Store on one, pull on the other, update, delete,
full resync; then a memoryd replica's writes reach the original's cache too."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest

from tests.contract_original.client import HttpOnlyTools, OriginalApi
from tests.contract_original.machine import Machine


def test_store_pull_update_delete_and_full_resync(
    machine: Callable[..., Machine], tools: HttpOnlyTools
) -> None:
    laptop, desktop = machine(), machine()
    assert laptop.check_auth() == {"status": "ok", "user_id": "alice"}
    for m in (laptop, desktop):
        m.full_resync()  # its start-up sync on an empty hub
        assert m.rows() == [] and m.last_sync_ts() is not None

    local_id = laptop.memory_store("Prod deploys need two approvals", "process", "deploy,prod")
    laptop.memory_store("Redis eviction bit us twice", "Gotcha", "redis")
    (first, second) = laptop.rows()
    assert first["server_id"] == 1 and second["server_id"] == 2  # the hub's integer ids

    assert desktop.pull() == 2  # what changed since its start-up sync
    assert desktop.rows() == [
        {"content": "Prod deploys need two approvals", "category": "process",
         "tags": "deploy,prod", "importance": 0.5, "is_sensitive": 0, "server_id": 1},
        {"content": "Redis eviction bit us twice", "category": "gotchas", "tags": "redis",
         "importance": 0.5, "is_sensitive": 0, "server_id": 2},
    ]  # fmt: skip
    assert desktop.pull() == 0  # nothing new: its cursor is the hub's server_time

    # memory_update goes straight to the API (by the server id); the next pull brings it.
    tools.memory_update(1, tags="deploy,prod,change-control", importance=0.9)
    assert laptop.pull() >= 1 and desktop.pull() == 1
    for m in (laptop, desktop):
        row = m.rows()[0]
        assert (row["tags"], row["importance"]) == ("deploy,prod,change-control", 0.9)

    laptop.memory_delete(local_id)
    assert desktop.pull() == 1  # the deletion, with its deleted_at
    assert [r["server_id"] for r in desktop.rows()] == [2]
    assert desktop.memory_count()["by_category"] == {"gotchas": 1}

    # Offline on the desktop: an orphan row, pushed by the next full resync.
    desktop.db.execute(
        "INSERT INTO memories (content, category, tags, created_at, updated_at) "
        "VALUES ('Offline note about kafka', 'facts', 'kafka', '2026-01-01', '2026-01-01')"
    )
    desktop.db.commit()
    assert desktop.memory_count()["orphans"] == 1
    desktop.full_resync()
    assert desktop.memory_count()["orphans"] == 0
    laptop.full_resync()
    assert sorted(r["content"] for r in laptop.rows()) == sorted(
        r["content"] for r in desktop.rows()
    )
    assert [r["server_id"] for r in laptop.rows()] == [2, 3]


def test_queued_ops_push_when_the_hub_answers_again(machine: Callable[..., Machine]) -> None:
    laptop = machine()
    laptop.full_resync()
    laptop.api.base_url, real = "http://127.0.0.1:9", laptop.api.base_url  # nothing listens
    laptop.api.timeout = 2
    local_id = laptop.memory_store("Stored while the hub was away", "facts", "offline")
    assert laptop.memory_count()["pending_ops"] == 1
    laptop.api.base_url = real
    laptop.push_pending()
    assert laptop.memory_count()["pending_ops"] == 0
    assert laptop.rows()[0]["server_id"] == 1
    laptop.memory_delete(local_id)
    laptop.full_resync()
    assert laptop.rows() == []


def test_a_memoryd_write_reaches_the_originals_cache(
    machine: Callable[..., Machine], api: OriginalApi
) -> None:
    """A memory stored by memoryd's own REST shape (tags a list, a project) pulls into the
    original's TEXT columns as text, and its delete arrives as a deletion."""
    laptop = machine()
    laptop.full_resync()
    stored = api.call(
        "POST",
        "/api/memories",
        {"content": "memoryd wrote this", "tags": ["a", "b"], "project": "dash"},
    )
    laptop.pull()
    assert laptop.rows()[0]["tags"] == "a,b"
    api.call("DELETE", f"/api/memories/{stored['uuid']}")
    laptop.pull()
    assert laptop.rows() == []


def test_the_local_schema_binds_only_text_tags() -> None:
    """Why tags must be text: the original binds each value as it comes, and SQLite cannot
    bind a list (the pull raised and the whole sync failed)."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (tags TEXT)")
    with pytest.raises(sqlite3.ProgrammingError):
        db.execute("INSERT INTO t VALUES (?)", (["a", "b"],))
