"""Typed links in a memory's history, in the real store: a link or unlink is a version (its
snapshot holds the links, `changed` says `links`), a restore from the trash brings back the
links to memories still there and names those it dropped, history rows written before
migration 18 (no `links` in their snapshot) stay readable, and a sensitive memory's versions
hold its links' ids and types but no word of its text."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from memory_core.crypto.aead import Cipher
from memoryd.store.db import Database
from memoryd.store.history import History
from memoryd.store.memories import MemoryStore, NewMemory
from memoryd.store.migrations import MIGRATIONS
from tests.conftest import FakeClock

SECRET = "ghp_" + "Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8V"  # detected as a secret


async def _store(store: MemoryStore, content: str, **fields: object) -> str:
    created = await store.create(NewMemory(content, **fields))  # type: ignore[arg-type]
    return created.memory.id


async def test_a_link_and_an_unlink_are_each_a_version(store: MemoryStore) -> None:
    bug = await _store(store, "Nightly export runs twice when the cron overlaps")
    fix = await _store(store, "An advisory lock on the export cron stops the double run")
    epic = await _store(store, "The export rework epic")
    await store.link(bug, "resolved-by", fix)
    await store.link(bug, "part-of", epic)
    await store.unlink(bug, fix, "resolved-by")

    versions = await History(store).versions(bug)
    assert [(v.action, v.changed) for v in versions] == [
        ("changed", ["links"]),
        ("changed", ["links"]),
        ("changed", ["links"]),
        ("created", []),
    ]
    assert [v.fields["links"] for v in versions] == [
        [["part-of", epic]],
        [["part-of", epic], ["resolved-by", fix]],
        [["resolved-by", fix]],
        [],
    ]
    # The target's history is untouched: a link is a write of its source only.
    assert [v.action for v in await History(store).versions(fix)] == ["created"]


async def test_a_supersedes_link_is_recorded_as_before(store: MemoryStore) -> None:
    old = await _store(store, "Builds run on Jenkins")
    new = await _store(store, "Builds run on GitHub Actions")
    await store.link(new, "supersedes", old)
    [changed, _] = await History(store).versions(new)
    assert changed.changed == ["supersedes"]
    assert changed.fields["supersedes"] == old and changed.fields["links"] == []


async def test_an_imports_links_are_recorded_as_the_imports(store: MemoryStore) -> None:
    """Not as an edit: links.restore, after the import's items are in, says who it is."""
    src, dst = "0190b000-0000-7000-8000-000000000001", "0190b000-0000-7000-8000-000000000002"
    await store.import_many(
        [
            NewMemory("The VPN concentrator is a pfSense box", id=src),
            NewMemory("pfSense upgrades are done on the first Monday", id=dst),
        ]
    )
    await store.import_many(
        [NewMemory("x", id=src, links=[{"id": dst, "type": "see-also"}])]
    )  # the id exists: its links are added to it
    versions = await History(store).versions(src)
    assert [(v.action, v.origin, v.changed) for v in versions] == [
        ("changed", "import", ["links"]),
        ("created", "manual", []),  # a creation is its source's
    ]


async def test_a_restore_brings_back_the_links_to_memories_still_there(
    store: MemoryStore,
) -> None:
    doomed = await _store(store, "Invoices export to parquet before the ledger move")
    epic = await _store(store, "The ledger move epic")
    related = await _store(store, "Parquet files are kept in the cold bucket")
    gone = await _store(store, "The old exporter wrote CSV")
    older = await _store(store, "Invoices exported to CSV before the ledger move")
    for kind, dst in (("part-of", epic), ("see-also", related), ("see-also", gone)):
        await store.link(doomed, kind, dst)
    await store.link(doomed, "supersedes", older)
    await store.delete(gone)
    await store.delete(older)
    await store.delete(doomed)

    history = History(store)
    [entry] = [t for t in await history.trash(10) if t.memory_id == doomed]
    assert entry.fields["links"] == sorted(
        [["part-of", epic], ["see-also", gone], ["see-also", related]]
    )
    restored = await history.restore(entry.seq)
    memory = restored.memory
    assert memory.id != doomed
    assert memory.links == [["part-of", epic], ["see-also", related]]
    assert memory.supersedes is None
    assert restored.links_dropped == [
        {"id": gone, "type": "see-also"},
        {"id": older, "type": "supersedes"},
    ]
    # One version, the restore's creation, with the links it came back with.
    [created] = await history.versions(memory.id)
    assert (created.action, created.origin) == ("created", "restore")
    assert created.fields["links"] == [["part-of", epic], ["see-also", related]]
    # The restored memory's links are found both ways, like any other.
    assert (await store.links_of(epic)).incoming == [{"id": memory.id, "type": "part-of"}]


async def test_a_restore_without_links_drops_nothing(store: MemoryStore) -> None:
    doomed = await _store(store, "The lobby printer is on the second floor")
    await store.delete(doomed)
    history = History(store)
    [entry] = await history.trash(10)
    restored = await history.restore(entry.seq)
    assert restored.memory.links == [] and restored.links_dropped == []


async def test_a_sensitive_memorys_versions_hold_link_ids_not_its_words(
    store: MemoryStore, tmp_path: Path
) -> None:
    sealed = await _store(store, f"The deploy bot signs in on the build farm with {SECRET}")
    runbook = await _store(store, "The deploy runbook lives in the ops wiki")
    await store.link(sealed, "see-also", runbook)
    await store.delete(sealed)
    history = History(store)
    [entry] = [t for t in await history.trash(10) if t.memory_id == sealed]
    assert entry.fields["content"] is None and entry.fields["links"] == [["see-also", runbook]]
    with sqlite3.connect(tmp_path / "memory.db") as conn:
        rows = conn.execute(
            "SELECT snapshot FROM memory_history WHERE memory_id = ?", (sealed,)
        ).fetchall()
    assert len(rows) == 3
    assert not any("build farm" in snap or SECRET in snap for (snap,) in rows)
    restored = await history.restore(entry.seq)
    assert restored.memory.is_sensitive and restored.memory.links == [["see-also", runbook]]


async def test_history_written_before_migration_18_stays_readable(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Rows recorded by migration 10's triggers have no `links`: they read as no change
    recorded, and a restore of such an entry brings back no links (it cannot know them)."""
    path = tmp_path / "memory.db"
    db = Database(path, readers=1)
    await db.open([m for m in MIGRATIONS if m.version < 18])
    store = MemoryStore(db, Cipher(b"k" * 32), clock, max_content_chars=1400)
    await store.load_clock()
    src = await _store(store, "The mail relay is postfix on relay-1")
    dst = await _store(store, "relay-1 runs Debian 12")
    keep = await _store(store, "relay-2 is the standby mail relay")
    await store.link(src, "see-also", dst)  # not recorded: migration 10 ignores links
    await store.link(keep, "see-also", dst)
    await store.delete(src)
    await db.close()

    db = Database(path, readers=1)
    await db.open()
    try:
        store = MemoryStore(db, Cipher(b"k" * 32), clock, max_content_chars=1400)
        await store.load_clock()
        history = History(store)
        [entry] = await history.trash(10)
        assert "links" not in entry.fields
        assert [v.action for v in await history.versions(src)] == ["deleted", "created"]
        restored = await history.restore(entry.seq)
        assert restored.memory.links == [] and restored.links_dropped == []
        # The recreated triggers record link changes from now on.
        await store.unlink(keep, dst, "see-also")
        latest = (await history.versions(keep))[0]
        assert latest.changed == ["links"] and latest.fields["links"] == []
    finally:
        await db.close()


async def test_a_restore_merged_into_a_live_twin_names_the_links_it_did_not_add(
    store: MemoryStore,
) -> None:
    """Equal text merges into the live memory (as a store would); that memory's links are
    kept as they are, so the entry's are named as dropped rather than silently lost."""
    doomed = await _store(store, "The wiki runs on Outline behind Keycloak")
    keycloak = await _store(store, "Keycloak realms are exported nightly")
    await store.link(doomed, "see-also", keycloak)
    await store.delete(doomed)
    twin = await _store(store, "The wiki runs on Outline behind Keycloak")
    history = History(store)
    [entry] = [t for t in await history.trash(10) if t.memory_id == doomed]
    restored = await history.restore(entry.seq)
    assert restored.memory.id == twin and restored.memory.links == []
    assert restored.links_dropped == [{"id": keycloak, "type": "see-also"}]
