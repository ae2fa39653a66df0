"""The original project's local SQLite schema (claude-memory-mcp b0ef3ec, after its schema
version 2): tags a comma-joined TEXT, the server's integer id in `server_id`, its write queue and
its sync cursor. Its FTS5 index is created without the triggers that fill it: the tests read the
table, never its index."""

ORIGINAL_SCHEMA = """
CREATE TABLE memories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    content TEXT NOT NULL,
    category TEXT DEFAULT 'facts',
    tags TEXT DEFAULT '',
    expanded_keywords TEXT DEFAULT '',
    importance REAL DEFAULT 0.5,
    is_sensitive INTEGER DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    server_id INTEGER
);
CREATE UNIQUE INDEX idx_memories_server_id ON memories(server_id);
CREATE VIRTUAL TABLE memories_fts USING fts5(
    content, category, tags, expanded_keywords, content='memories', content_rowid='id'
);
CREATE TABLE pending_ops (id INTEGER PRIMARY KEY AUTOINCREMENT, op_type TEXT, payload TEXT,
    created_at TEXT, retry_count INTEGER DEFAULT 0);
CREATE TABLE sync_meta (key TEXT PRIMARY KEY, value TEXT);
"""
