"""Migration 10's tables and migration 18's triggers: each memory's versions and the trash
(`memory_history`, filled by triggers, so that every path that writes a memory — a local write,
an import, auto-learn, a change pulled by sync — is recorded alike), the prompt hooks'
injection journal, the projects whose auto-learn is paused, and the per-day counters of the
status charts.

A version holds the memory's fields after the change, its content only while the memory is not
sensitive: when a memory turns sensitive, the content of its earlier versions is cleared in the
same transaction (issue 17: no word of a sensitive memory in clear). A creation is recorded
without its fields (`{}`): until the memory changes they are its row's, and the first change or
delete writes them into the creation's version from the row as it was; so an import or a pull
of many memories does not write each one twice. A delete records the
memory as it was, the sealed text of a sensitive one included: that row is the trash entry a
restore reads. Who changed it: `write_origin` holds the origin of the transaction's writes when
the writer says (sync, the viewer, a restore); without it an insert is its `source` (manual,
auto-learn, import) and an update a plain edit. Each memory keeps its newest
`VERSIONS_KEPT` versions; ages are pruned by memoryd.store.history.

Migration 18 recreates the change and delete triggers so that a version also holds the typed
links (`links`, sorted `[type, id]` pairs: ids and types, no text) and a link or unlink is a
change (`changed` lists `links`). Migration 10 is kept as it shipped.
"""

from __future__ import annotations

VERSIONS_KEPT = 20

# The fields a version records, as `json_object` arguments; `{r}` is the row (old, new, memories).
_FIELDS = """'content', CASE WHEN {r}.is_sensitive THEN NULL ELSE {r}.content END,
    'category', {r}.category, 'tags', json({r}.tags), 'expanded_keywords', {r}.expanded_keywords,
    'importance', {r}.importance, 'is_sensitive', {r}.is_sensitive, 'project', {r}.project,
    'source', {r}.source, 'supersedes', {r}.supersedes, 'created_ms', {r}.created_ms,
    'updated_ms', {r}.updated_ms"""

# Migration 10's snapshot, without the typed links (kept as it shipped); migration 18's adds
# them: ids and types only, never a word of either memory.
_SNAPSHOT_V10 = "json_object(\n    " + _FIELDS + ")"
_SNAPSHOT = "json_object(\n    " + _FIELDS + ",\n    'links', json({r}.links))"

_REPLICA = (
    "COALESCE((SELECT replica FROM write_origin WHERE k = 1), "
    "(SELECT replica_id FROM sync_state WHERE id = 1))"
)

_CHANGE_TESTS_V10 = (
    ("content", "new.content IS NOT old.content OR new.secret IS NOT old.secret"),
    ("category", "new.category IS NOT old.category"),
    ("tags", "new.tags IS NOT old.tags"),
    ("expanded_keywords", "new.expanded_keywords IS NOT old.expanded_keywords"),
    ("importance", "new.importance IS NOT old.importance"),
    ("is_sensitive", "new.is_sensitive IS NOT old.is_sensitive"),
    ("project", "new.project IS NOT old.project"),
    ("supersedes", "new.supersedes IS NOT old.supersedes"),
)
# `links` is a sorted JSON list (memory_core.links), so equal links are equal text.
_CHANGE_TESTS = (*_CHANGE_TESTS_V10, ("links", "new.links IS NOT old.links"))


def _changed_fields(tests: tuple[tuple[str, str], ...]) -> str:
    """A query of the names of the fields an update changed."""
    return " UNION ALL ".join(f"SELECT '{name}' AS name WHERE {test}" for name, test in tests)


def _fill_created(snapshot: str) -> str:
    """The creation's fields, written at the first change from the row as it was (its text
    cleared when either side is sensitive: the change may be the one that seals it)."""
    return f"""UPDATE memory_history SET snapshot = json_set({snapshot.format(r="old")},
        '$.content', CASE WHEN old.is_sensitive OR new.is_sensitive THEN NULL ELSE old.content END)
    WHERE memory_id = old.id AND action = 'created' AND snapshot = '{{}}';"""


def _change_triggers(snapshot: str, tests: tuple[tuple[str, str], ...]) -> str:
    """The triggers that record a change and a delete, with the fields of `snapshot` and the
    change tests `tests`."""
    changed = _changed_fields(tests)
    return f"""CREATE TRIGGER memory_history_changed AFTER UPDATE ON memories
WHEN new.deleted_ms IS NULL AND old.deleted_ms IS NULL AND EXISTS ({changed})
BEGIN
    {_fill_created(snapshot)}
    INSERT INTO memory_history (memory_id, at_ms, action, origin, replica, changed, snapshot)
    VALUES (new.id, new.updated_ms, 'changed',
        COALESCE((SELECT origin FROM write_origin WHERE k = 1), 'edit'), {_REPLICA},
        (SELECT json_group_array(name) FROM ({changed})),
        {snapshot.format(r="new")});
END;

CREATE TRIGGER memory_history_deleted AFTER UPDATE OF deleted_ms ON memories
WHEN old.deleted_ms IS NULL AND new.deleted_ms IS NOT NULL
BEGIN
    {_fill_created(snapshot)}
    INSERT INTO memory_history (memory_id, at_ms, action, origin, replica, snapshot, secret)
    VALUES (old.id, new.deleted_ms, 'deleted',
        COALESCE((SELECT origin FROM write_origin WHERE k = 1), 'manual'), {_REPLICA},
        {snapshot.format(r="old")}, CASE WHEN old.is_sensitive THEN old.secret END);
END;"""


# The fields of a memory as its row holds them now (a creation's version until it changes).
CURRENT_SNAPSHOT = _SNAPSHOT.format(r="memories")

V10_CURATION = f"""
CREATE TABLE memory_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    memory_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    action TEXT NOT NULL,
    origin TEXT NOT NULL,
    replica TEXT,
    changed TEXT NOT NULL DEFAULT '[]',
    snapshot TEXT NOT NULL,
    secret BLOB,
    restored_as TEXT
);
CREATE INDEX memory_history_memory ON memory_history (memory_id, seq);
CREATE INDEX memory_history_trash ON memory_history (at_ms) WHERE action = 'deleted';

CREATE TABLE write_origin (
    k INTEGER PRIMARY KEY CHECK (k = 1),
    origin TEXT NOT NULL,
    replica TEXT
);

CREATE TRIGGER memory_history_created AFTER INSERT ON memories WHEN new.deleted_ms IS NULL
BEGIN
    INSERT INTO memory_history (memory_id, at_ms, action, origin, replica, snapshot)
    VALUES (new.id, new.updated_ms, 'created',
        COALESCE((SELECT origin FROM write_origin WHERE k = 1), new.source), {_REPLICA}, '{{}}');
END;

CREATE TRIGGER memory_history_sealed AFTER UPDATE OF is_sensitive ON memories
WHEN new.is_sensitive AND NOT old.is_sensitive
BEGIN
    UPDATE memory_history SET snapshot = json_set(snapshot, '$.content', NULL)
    WHERE memory_id = new.id AND snapshot != '{{}}';
END;

{_change_triggers(_SNAPSHOT_V10, _CHANGE_TESTS_V10)}

CREATE TRIGGER memory_history_bounded AFTER INSERT ON memory_history
WHEN new.action != 'deleted'
BEGIN
    DELETE FROM memory_history WHERE memory_id = new.memory_id AND action != 'deleted'
    AND seq <= (SELECT seq FROM memory_history WHERE memory_id = new.memory_id
                AND action != 'deleted' ORDER BY seq DESC LIMIT 1 OFFSET {VERSIONS_KEPT});
END;

CREATE TABLE injection_journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    hook TEXT NOT NULL,
    project TEXT,
    prompt TEXT,
    items TEXT NOT NULL
);
CREATE INDEX injection_journal_session ON injection_journal (session_id, seq);
CREATE INDEX injection_journal_at ON injection_journal (at_ms);

CREATE TABLE learn_paused (
    project TEXT PRIMARY KEY,
    at_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE daily_counts (
    day TEXT NOT NULL,
    name TEXT NOT NULL,
    value INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, name)
) WITHOUT ROWID;

CREATE TABLE daily_latency (
    day TEXT NOT NULL,
    name TEXT NOT NULL,
    buckets TEXT NOT NULL,
    PRIMARY KEY (day, name)
) WITHOUT ROWID;
"""

# Migration 18: the change and delete triggers again, now recording the typed links (`links`
# in each snapshot and in `changed`). Rows written before it keep their snapshots, without
# `links`: readers take that as "no change recorded", not as "no links".
V18_HISTORY_LINKS = f"""
DROP TRIGGER memory_history_changed;
DROP TRIGGER memory_history_deleted;
{_change_triggers(_SNAPSHOT, _CHANGE_TESTS)}
"""
