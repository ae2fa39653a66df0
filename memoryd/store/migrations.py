"""Versioned schema migrations. Each applies and records itself in one transaction.

Append new migrations to MIGRATIONS; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from memoryd.store.history_schema import V10_CURATION, V18_HISTORY_LINKS


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


_V1_BASE = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE memories (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    content TEXT,
    secret BLOB,
    content_hash TEXT,
    category TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    expanded_keywords TEXT NOT NULL DEFAULT '',
    importance REAL NOT NULL DEFAULT 0.5,
    is_sensitive INTEGER NOT NULL DEFAULT 0,
    project TEXT,
    source TEXT NOT NULL DEFAULT 'manual',
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    deleted_ms INTEGER,
    field_hlc TEXT NOT NULL DEFAULT '{}',
    deleted_hlc INTEGER
);

CREATE INDEX memories_live_updated ON memories (deleted_ms, updated_ms);
CREATE INDEX memories_hash ON memories (content_hash) WHERE deleted_ms IS NULL;
CREATE INDEX memories_project ON memories (project, deleted_ms);
CREATE INDEX memories_category ON memories (category, deleted_ms);

-- Indexed text only: sensitive rows have NULL content and tombstones have no text at all,
-- so nothing secret or deleted is ever searchable.
CREATE VIRTUAL TABLE memories_fts USING fts5(
    content, expanded_keywords, tags,
    content='memories', content_rowid='rowid',
    tokenize='porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, content, expanded_keywords, tags)
    VALUES (new.rowid, new.content, new.expanded_keywords, new.tags);
END;

CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content, expanded_keywords, tags)
    VALUES ('delete', old.rowid, old.content, old.expanded_keywords, old.tags);
END;

CREATE TRIGGER memories_fts_update AFTER UPDATE OF content, expanded_keywords, tags ON memories
BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content, expanded_keywords, tags)
    VALUES ('delete', old.rowid, old.content, old.expanded_keywords, old.tags);
    INSERT INTO memories_fts (rowid, content, expanded_keywords, tags)
    VALUES (new.rowid, new.content, new.expanded_keywords, new.tags);
END;
"""

_V2_HOOKS_LEARN = """
-- Hooks: what each Claude Code session has seen, and memories saved across a compaction.
CREATE TABLE hook_session_memories (
    session_id TEXT NOT NULL,
    memory_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    memory_updated_ms INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (session_id, memory_id, kind)
) WITHOUT ROWID;
CREATE INDEX hook_session_memories_at ON hook_session_memories (at_ms);

CREATE TABLE compaction_markers (
    session_id TEXT PRIMARY KEY,
    memory_ids TEXT NOT NULL,
    project TEXT,
    created_ms INTEGER NOT NULL
);

-- Auto-learn: the queue (one row per transcript, with how far it was judged), the daily
-- token spend, and what was learned with the model's reason (for `memory learned` and undo).
CREATE TABLE learn_sessions (
    session_id TEXT PRIMARY KEY,
    transcript_path TEXT NOT NULL,
    cwd TEXT,
    judged_lines INTEGER NOT NULL DEFAULT 0,
    pending INTEGER NOT NULL DEFAULT 1,
    requested_ms INTEGER NOT NULL,
    judged_ms INTEGER
);
CREATE INDEX learn_sessions_pending ON learn_sessions (pending, requested_ms);

CREATE TABLE learn_spend (
    day TEXT PRIMARY KEY,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    calls INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE learned (
    rowid INTEGER PRIMARY KEY,
    memory_id TEXT NOT NULL,
    session_id TEXT,
    action TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    previous_content TEXT,
    at_ms INTEGER NOT NULL,
    undone_ms INTEGER
);
CREATE INDEX learned_at ON learned (at_ms);
"""

_V3_SYNC = """
-- One row: who this replica is and how far it has pulled (see memoryd/sync/state.py).
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    replica_id TEXT NOT NULL,
    next_replica_seq INTEGER NOT NULL DEFAULT 1,
    cursor INTEGER NOT NULL DEFAULT 0,
    last_push_ms INTEGER,
    last_pull_ms INTEGER,
    last_error TEXT,
    server_offset_ms INTEGER
);

-- Ops waiting for the hub, appended in the transaction of the write they describe. Sealed
-- values are ciphertext already: no plaintext secret is ever stored here.
CREATE TABLE sync_outbox (
    replica_seq INTEGER PRIMARY KEY,
    op_id TEXT NOT NULL UNIQUE,
    entity_id TEXT NOT NULL,
    hlc INTEGER NOT NULL,
    envelope TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    parked INTEGER NOT NULL DEFAULT 0
);

-- Pulled ops that could not be applied (sealed without a usable key, or damaged): kept, shown
-- in status, retried when a key appears.
CREATE TABLE sync_quarantine (
    op_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    envelope TEXT NOT NULL,
    error TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
"""

# Embeddings of the semantic leg (memoryd.semantic), one per live non-sensitive memory. The
# triggers drop a vector as soon as its memory's text changes, turns sensitive or is deleted; the
# daemon re-embeds what is missing. Harmless (empty) when the extra is not installed.
_V4_VECTORS = """
CREATE TABLE memory_vectors (
    rowid INTEGER PRIMARY KEY,
    model TEXT NOT NULL,
    vector BLOB NOT NULL
);

CREATE TRIGGER memory_vectors_stale AFTER UPDATE OF content, is_sensitive, deleted_ms ON memories
WHEN new.content IS NOT old.content OR new.is_sensitive != old.is_sensitive
    OR new.deleted_ms IS NOT NULL
BEGIN
    DELETE FROM memory_vectors WHERE rowid = old.rowid;
END;

CREATE TRIGGER memory_vectors_gone AFTER DELETE ON memories BEGIN
    DELETE FROM memory_vectors WHERE rowid = old.rowid;
END;
"""

# A memory that replaces an older one names it (memory_core.model.Memory.supersedes); recall
# looks up the successors of its candidates by this column.
_V5_SUPERSEDES = """
ALTER TABLE memories ADD COLUMN supersedes TEXT;
CREATE INDEX memories_supersedes ON memories (supersedes) WHERE supersedes IS NOT NULL;
"""

# How often each memory was of use to a session, for the SessionStart profile
# (memoryd/sessions/profile.py): recalled by a tool, or injected by the prompt hook because the
# prompt was about it. Local to this machine; kept past the 7 days of hook_session_memories.
_V6_USAGE = """
CREATE TABLE memory_usage (
    memory_id TEXT PRIMARY KEY,
    recalled INTEGER NOT NULL DEFAULT 0,
    injected INTEGER NOT NULL DEFAULT 0,
    last_ms INTEGER NOT NULL
) WITHOUT ROWID;
"""

# A sensitive memory's content is sealed whole (issue 17, defect 5): earlier versions kept its
# words with only the detected secrets redacted in `content` and so in the full-text index.
# Clearing it fires the FTS update trigger; 'optimize' then rewrites the index's segments so no
# page of it still holds those words.
_V7_SEAL_SENSITIVE_WHOLE = """
UPDATE memories SET content = NULL WHERE is_sensitive = 1 AND content IS NOT NULL;
INSERT INTO memories_fts (memories_fts) VALUES ('optimize');
"""

# The SessionStart profile's candidates (reads.standing), in the order it wants them, for each
# project and for none: without it, every live memory was sorted on each session start.
_V13_STANDING_INDEX = """
CREATE INDEX memories_standing ON memories (project, importance, updated_ms)
WHERE deleted_ms IS NULL AND is_sensitive = 0;
"""

# The semantic leg at a million memories. It counts and lists its vectors' rowids (and finds
# another model's) on every start and write burst; with 1,536-byte vectors that read the whole
# table, ~1.5 GB: the index holds only (model, rowid). And it looked for memories without a
# vector by joining every memory with memory_vectors after every write, even a recall's usage
# count (3.9 s of CPU at a million): the triggers now list the memories inserted or changed
# (text, sensitivity, deletion) in memory_vectors_todo, which the leg reads and clears
# (memoryd/semantic/leg.py).
_V15_VECTOR_ROWIDS = """
CREATE INDEX memory_vectors_model ON memory_vectors (model);

CREATE TABLE memory_vectors_todo (rowid INTEGER PRIMARY KEY);

INSERT INTO memory_vectors_todo (rowid)
SELECT m.rowid FROM memories m LEFT JOIN memory_vectors v ON v.rowid = m.rowid
WHERE v.rowid IS NULL AND m.deleted_ms IS NULL AND m.is_sensitive = 0
    AND m.content IS NOT NULL AND m.content != '';

CREATE TRIGGER memory_vectors_todo_insert AFTER INSERT ON memories BEGIN
    INSERT OR IGNORE INTO memory_vectors_todo (rowid) VALUES (new.rowid);
END;

CREATE TRIGGER memory_vectors_todo_update AFTER UPDATE OF content, is_sensitive, deleted_ms
ON memories
WHEN new.content IS NOT old.content OR new.is_sensitive != old.is_sensitive
    OR new.deleted_ms IS NOT old.deleted_ms
BEGIN
    INSERT OR IGNORE INTO memory_vectors_todo (rowid) VALUES (new.rowid);
END;
"""

# A memory's typed links other than `supersedes` (memory_core.links): sorted [type, id] pairs,
# replicated as one field like `tags`.
_V8_LINKS = """
ALTER TABLE memories ADD COLUMN links TEXT NOT NULL DEFAULT '[]';
"""

# The links again, one row each, kept by triggers from the `links` column: what finds the
# memories that link *to* one (GET .../links) and walks part-of chains without reading JSON.
# A short integer id needs no migration: it is the rowid, `INTEGER PRIMARY KEY` since
# migration 1, so VACUUM keeps it, and rows are never removed (a delete leaves a tombstone),
# so it is never reused.
_V9_LINK_INDEX = """
CREATE TABLE memory_links (
    dst TEXT NOT NULL,
    type TEXT NOT NULL,
    src TEXT NOT NULL,
    PRIMARY KEY (dst, type, src)
) WITHOUT ROWID;
CREATE INDEX memory_links_src ON memory_links (src, type);

INSERT OR IGNORE INTO memory_links (dst, type, src)
SELECT json_extract(j.value, '$[1]'), json_extract(j.value, '$[0]'), m.id
FROM memories m, json_each(m.links) j WHERE m.links != '[]';

CREATE TRIGGER memory_links_insert AFTER INSERT ON memories WHEN new.links != '[]' BEGIN
    INSERT OR IGNORE INTO memory_links (dst, type, src)
    SELECT json_extract(value, '$[1]'), json_extract(value, '$[0]'), new.id
    FROM json_each(new.links);
END;

CREATE TRIGGER memory_links_update AFTER UPDATE OF links ON memories
WHEN new.links IS NOT old.links BEGIN
    DELETE FROM memory_links WHERE src = old.id;
    INSERT OR IGNORE INTO memory_links (dst, type, src)
    SELECT json_extract(value, '$[1]'), json_extract(value, '$[0]'), new.id
    FROM json_each(new.links);
END;
"""

# What the semantic leg must look at again: a memory added, its text, sensitivity or deletion
# set, or a vector dropped (by the triggers of migration 4, a reindex, a purge). The leg polls
# this one row instead of rescanning memories and memory_vectors (two full scans, ~10 ms at 10k
# memories) after every commit: most commits are the hooks' bookkeeping (session marks, the
# injection journal), which touch neither. The leg's own vector writes do not count (an
# INSERT OR REPLACE fires no delete trigger while recursive_triggers is off).
_V16_CHANGES = """
CREATE TABLE semantic_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT INTO semantic_changes (id, n) VALUES (1, 0);

CREATE TRIGGER semantic_changes_memory_added AFTER INSERT ON memories BEGIN
    UPDATE semantic_changes SET n = n + 1;
END;

CREATE TRIGGER semantic_changes_memory_changed
AFTER UPDATE OF content, is_sensitive, deleted_ms ON memories BEGIN
    UPDATE semantic_changes SET n = n + 1;
END;

CREATE TRIGGER semantic_changes_vector_dropped AFTER DELETE ON memory_vectors BEGIN
    UPDATE semantic_changes SET n = n + 1;
END;
"""

MIGRATIONS: list[Migration] = [
    Migration(1, "base schema: memories, full-text index, meta", _V1_BASE),
    Migration(2, "hooks: session tracking, compaction markers, learning queue", _V2_HOOKS_LEARN),
    Migration(3, "sync: replica state, outbox, quarantine", _V3_SYNC),
    Migration(4, "semantic leg: memory_vectors, dropped when their text changes", _V4_VECTORS),
    Migration(5, "supersedes: the older memory a memory replaces", _V5_SUPERSEDES),
    Migration(6, "memory_usage: how often each memory was recalled or injected", _V6_USAGE),
    Migration(7, "sensitive memories: no word of their content indexed", _V7_SEAL_SENSITIVE_WHOLE),
    Migration(8, "links: a memory's typed links to others", _V8_LINKS),
    Migration(9, "memory_links: the links one row each, for lookups", _V9_LINK_INDEX),
    Migration(10, "history, trash, injection journal, learn pause, daily counts", V10_CURATION),
    # 11, 12, 14 and 17 were set aside for work that needed none: the runner applies what is
    # newer than the file's version, in this order.
    Migration(13, "memories_standing: the profile's candidates in order", _V13_STANDING_INDEX),
    Migration(
        15, "memory_vectors_model: the vectors' rowids without their vectors", _V15_VECTOR_ROWIDS
    ),
    Migration(16, "semantic_changes: what the semantic leg must look again at", _V16_CHANGES),
    Migration(18, "history records typed links: a link or unlink is a version", V18_HISTORY_LINKS),
]


def split_statements(script: str) -> list[str]:
    """Split a script on statement boundaries (trigger bodies contain semicolons)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


def target_version(migrations: list[Migration] | None = None) -> int:
    return (migrations or MIGRATIONS)[-1].version
