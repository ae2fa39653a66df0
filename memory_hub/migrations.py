"""Schema migrations: recorded in hub_schema_migrations, idempotent, and serialised by a
transaction-scoped advisory lock, so two replicas starting at once apply each step once."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

import asyncpg

log = logging.getLogger("memory_hub.migrations")

# pg_advisory_xact_lock key: an arbitrary constant that names "memory_hub schema".
LOCK_KEY = 0x6D656D6F7279_68

Step = Callable[[asyncpg.Connection], Awaitable[None]]

USER_TABLES = ("hub_users", "ops", "tombstones", "memories")
# Tables of rows between two users, emptied with the user tables (tests.hubs.reset).
SHARE_TABLES = ("memory_shares", "tag_shares")
# What instances share besides users' data (step 9), emptied with them too.
STATE_TABLES = ("hub_auth_failures", "hub_viewer_sessions")

_V1 = """
CREATE TABLE hub_meta (
    key text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE hub_users (
    user_id text PRIMARY KEY,
    next_seq bigint NOT NULL DEFAULT 0,   -- the last sequence number handed out
    floor_seq bigint NOT NULL DEFAULT 0,  -- reserved for log truncation after snapshots
    hlc bigint NOT NULL DEFAULT 0,        -- the hub's clock for this user's REST writes
    replica_seq bigint NOT NULL DEFAULT 0,-- the hub replica's op counter for this user
    end_to_end boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE ops (
    user_id text NOT NULL,
    seq bigint NOT NULL,
    op_id uuid NOT NULL,
    replica_id text NOT NULL,
    replica_seq bigint NOT NULL,
    entity_id text NOT NULL,
    hlc bigint NOT NULL,
    kind text NOT NULL CHECK (kind IN ('put', 'del')),
    field_mask text[] NOT NULL,
    key_id text,
    fields jsonb NOT NULL DEFAULT '{}'::jsonb,
    sealed bytea,
    body_hash bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, seq),
    UNIQUE (user_id, op_id),
    UNIQUE (user_id, replica_id, replica_seq)
);
CREATE INDEX ops_entity ON ops (user_id, entity_id);
CREATE TABLE tombstones (
    user_id text NOT NULL,
    entity_id text NOT NULL,
    hlc bigint NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (user_id, entity_id)
);
-- array_to_string is only STABLE; for text[] it is immutable in fact, and a generated
-- column needs that promise.
CREATE FUNCTION memory_hub_words(text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string($1, ' ') $$;
CREATE TABLE memories (
    user_id text NOT NULL,
    id text NOT NULL,
    content text,                 -- NULL when sensitive: then `secret` or the op log holds it
    secret bytea,                 -- server-side sealed content of a sensitive REST memory
    category text NOT NULL DEFAULT 'facts',
    tags text[] NOT NULL DEFAULT '{}',
    expanded_keywords text NOT NULL DEFAULT '',
    importance double precision NOT NULL DEFAULT 0.5,
    is_sensitive boolean NOT NULL DEFAULT false,
    project text,
    source text NOT NULL DEFAULT 'manual',
    created_ms bigint NOT NULL,
    updated_ms bigint NOT NULL,
    deleted_ms bigint,
    clocks jsonb NOT NULL DEFAULT '{}'::jsonb,  -- field -> [hlc, replica_id]
    search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(content, '')), 'A')
        || setweight(to_tsvector('english', expanded_keywords), 'B')
        || setweight(to_tsvector('english', memory_hub_words(tags)), 'C')
    ) STORED,
    PRIMARY KEY (user_id, id)
);
CREATE INDEX memories_updated ON memories (user_id, updated_ms);
"""

# Row-level security as a backstop under "every statement has WHERE user_id = $user": a
# statement that forgets it sees nothing, because the policy compares with the user the
# transaction declared (SET LOCAL memory_hub.user_id). FORCE makes it bind the table owner
# too; superusers still bypass it (tests check it under an ordinary role).
_RLS = "".join(
    f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY {table}_owner ON {table}
    USING (user_id = current_setting('memory_hub.user_id', true))
    WITH CHECK (user_id = current_setting('memory_hub.user_id', true));
"""
    for table in USER_TABLES
)


async def _v1(conn: asyncpg.Connection) -> None:
    await conn.execute(_V1)
    await conn.execute(
        "INSERT INTO hub_meta (key, value) VALUES ('replica_id', $1)", secrets.token_hex(16)
    )


async def _v2_rls(conn: asyncpg.Connection) -> None:
    await conn.execute(_RLS)


async def _v3_search_index(conn: asyncpg.Connection) -> None:
    # With btree_gin one GIN index serves "this user's rows matching the query"; without it
    # (the extension is missing or not allowed) a plain GIN index still works.
    try:
        async with conn.transaction():
            await conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
            await conn.execute(
                "CREATE INDEX memories_search ON memories USING gin (user_id, search_vector)"
            )
    except asyncpg.PostgresError as exc:
        log.warning("btree_gin unavailable (%s); using a plain GIN index", type(exc).__name__)
        await conn.execute("CREATE INDEX memories_search ON memories USING gin (search_vector)")


async def _v4_supersedes(conn: asyncpg.Connection) -> None:
    # The older memory a memory replaces (memory_core.model.Memory.supersedes), as replicas
    # push it; REST answers carry it.
    await conn.execute("ALTER TABLE memories ADD COLUMN supersedes text")


# Every memory's short integer id: what the original project's clients show (`#42`), type into
# their tools and keep in their local `server_id`. Per user, from 1, never reused; the counter is
# `hub_users.next_num`, which a write takes under the user's row lock (oplog.number_new).
_V5 = """
ALTER TABLE hub_users ADD COLUMN next_num bigint NOT NULL DEFAULT 0;
ALTER TABLE memories ADD COLUMN num bigint;
INSERT INTO hub_users (user_id) SELECT DISTINCT user_id FROM memories ON CONFLICT DO NOTHING;
UPDATE memories AS m SET num = r.n FROM (
    SELECT user_id, id, row_number() OVER (PARTITION BY user_id ORDER BY created_ms, id) AS n
    FROM memories
) AS r WHERE m.user_id = r.user_id AND m.id = r.id;
UPDATE hub_users AS u SET next_num = c.n
    FROM (SELECT user_id, max(num) AS n FROM memories GROUP BY user_id) AS c
    WHERE u.user_id = c.user_id;
ALTER TABLE memories ALTER COLUMN num SET NOT NULL;
CREATE UNIQUE INDEX memories_num ON memories (user_id, num);
"""


async def _v5_integer_ids(conn: asyncpg.Connection) -> None:
    # The backfill spans every user: row-level security, forced on the table owner too, would
    # hide every row from it. Lifted for this transaction only (DDL is transactional).
    for table in ("hub_users", "memories"):
        await conn.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    await conn.execute(_V5)
    for table in ("hub_users", "memories"):
        await conn.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


# Sharing (memory_hub.sharing): a memory, or every memory with a tag, shared by its owner with
# another user. The rows are the owner's (only the owner writes them); the recipient reads the
# ones naming them. The second policy on `memories` lets a recipient's transaction read exactly
# the rows shared with it, so row-level security stays the backstop under an ordinary role;
# writes still need the owner declared (a write share writes into the owner's log).
_V6 = """
CREATE TABLE memory_shares (
    owner_id text NOT NULL,
    memory_id text NOT NULL,
    shared_with text NOT NULL,
    permission text NOT NULL CHECK (permission IN ('read', 'write')),
    secret_get boolean NOT NULL DEFAULT false,
    created_ms bigint NOT NULL,
    PRIMARY KEY (owner_id, memory_id, shared_with),
    FOREIGN KEY (owner_id, memory_id) REFERENCES memories (user_id, id) ON DELETE CASCADE
);
CREATE INDEX memory_shares_recipient ON memory_shares (shared_with, owner_id);
CREATE TABLE tag_shares (
    owner_id text NOT NULL,
    tag text NOT NULL,
    shared_with text NOT NULL,
    permission text NOT NULL CHECK (permission IN ('read', 'write')),
    secret_get boolean NOT NULL DEFAULT false,
    created_ms bigint NOT NULL,
    PRIMARY KEY (owner_id, tag, shared_with)
);
CREATE INDEX tag_shares_recipient ON tag_shares (shared_with, owner_id);
"""
_V6_RLS = (
    "".join(
        f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY {table}_parties ON {table} FOR SELECT
    USING (current_setting('memory_hub.user_id', true) IN (owner_id, shared_with));
CREATE POLICY {table}_owner ON {table}
    USING (owner_id = current_setting('memory_hub.user_id', true))
    WITH CHECK (owner_id = current_setting('memory_hub.user_id', true));
"""
        for table in ("memory_shares", "tag_shares")
    )
    + """
CREATE POLICY memories_shared ON memories FOR SELECT USING (
    EXISTS (SELECT 1 FROM memory_shares s
            WHERE s.owner_id = memories.user_id AND s.memory_id = memories.id
              AND s.shared_with = current_setting('memory_hub.user_id', true))
    OR EXISTS (SELECT 1 FROM tag_shares t
               WHERE t.owner_id = memories.user_id AND t.tag = ANY (memories.tags)
                 AND t.shared_with = current_setting('memory_hub.user_id', true)));
"""
)


async def _v6_sharing(conn: asyncpg.Connection) -> None:
    await conn.execute(_V6)
    await conn.execute(_V6_RLS)


# Storage quotas (memory_hub/limits.py) read two counters per user instead of scanning the
# user's whole log after every write: statement triggers keep them, from the rows each
# statement added or removed, in the statement's own transaction (exact across hub
# processes, whatever path wrote: push, REST, import, purge, migrate-secrets). A body's size
# is its JSON text plus its sealed bytes: the same for a row coming and going, so the counter
# never drifts.
_OP_BYTES = "octet_length(fields::text) + coalesce(octet_length(sealed), 0)"
_COUNTER_TRIGGERS = f"""
ALTER TABLE hub_users ADD COLUMN op_bytes bigint NOT NULL DEFAULT 0;
ALTER TABLE hub_users ADD COLUMN live_memories bigint NOT NULL DEFAULT 0;

CREATE FUNCTION memory_hub_count_ops() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE hub_users h SET op_bytes = h.op_bytes + d.n
        FROM (SELECT user_id, sum({_OP_BYTES}) AS n FROM added GROUP BY user_id) d
        WHERE h.user_id = d.user_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE hub_users h SET op_bytes = h.op_bytes - d.n
        FROM (SELECT user_id, sum({_OP_BYTES}) AS n FROM removed GROUP BY user_id) d
        WHERE h.user_id = d.user_id;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION memory_hub_count_memories() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE hub_users h SET live_memories = h.live_memories + d.n
        FROM (SELECT user_id, count(*) AS n FROM added WHERE deleted_ms IS NULL
              GROUP BY user_id) d
        WHERE h.user_id = d.user_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE hub_users h SET live_memories = h.live_memories - d.n
        FROM (SELECT user_id, count(*) AS n FROM removed WHERE deleted_ms IS NULL
              GROUP BY user_id) d
        WHERE h.user_id = d.user_id;
    END IF;
    RETURN NULL;
END $$;
""" + "".join(
    f"""
CREATE TRIGGER {table}_count_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {table}_count_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {table}_count_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""
    for table, function in (
        ("ops", "memory_hub_count_ops"),
        ("memories", "memory_hub_count_memories"),
    )
)
# What the counters start from, read past row-level security (forced for the owner, who runs
# the migration): the owner lifts it for this transaction's statements and puts it back.
_COUNTER_BACKFILL = f"""
ALTER TABLE hub_users NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ops NO FORCE ROW LEVEL SECURITY;
ALTER TABLE memories NO FORCE ROW LEVEL SECURITY;
UPDATE hub_users u SET
    op_bytes = coalesce((SELECT sum({_OP_BYTES}) FROM ops o WHERE o.user_id = u.user_id), 0),
    live_memories = (SELECT count(*) FROM memories m
                     WHERE m.user_id = u.user_id AND m.deleted_ms IS NULL);
ALTER TABLE hub_users FORCE ROW LEVEL SECURITY;
ALTER TABLE ops FORCE ROW LEVEL SECURITY;
ALTER TABLE memories FORCE ROW LEVEL SECURITY;
"""


async def _v8_usage_counters(conn: asyncpg.Connection) -> None:
    await conn.execute(_COUNTER_TRIGGERS)
    await conn.execute(_COUNTER_BACKFILL)


# A memory's typed links other than `supersedes` (memory_core.links), as replicas push them and
# the link routes write them: sorted [type, id] pairs. The GIN index finds the memories linking
# to one (`links @> '[[type, id]]'`); the supersedes index finds a memory's successors, which
# recall looks up for every candidate.
_V7 = """
ALTER TABLE memories ADD COLUMN links jsonb NOT NULL DEFAULT '[]'::jsonb;
CREATE INDEX memories_links ON memories USING gin (links jsonb_path_ops);
CREATE INDEX memories_supersedes ON memories (user_id, supersedes) WHERE supersedes IS NOT NULL;
"""


async def _v7_links(conn: asyncpg.Connection) -> None:
    await conn.execute(_V7)


# State every hub instance shares, so none needs a sticky client (docs/hub.md "Several
# instances"): a user's ops-per-minute bucket beside the counters its writes already lock (NULL
# tokens: full), an address's failed-key bucket, and the viewer's sessions (a hash of the
# cookie's id and of the API key, never either). Neither new table holds memory content; both
# are read before a user is known, so row-level security, keyed on that user, does not apply.
_V9 = """
ALTER TABLE hub_users ADD COLUMN ops_tokens double precision, ADD COLUMN ops_stamp_ms bigint;
CREATE TABLE hub_auth_failures (
    address text PRIMARY KEY,
    tokens double precision NOT NULL,
    stamp_ms bigint NOT NULL,
    spent boolean NOT NULL  -- whether the last failure was counted (false: it was throttled)
);
CREATE INDEX hub_auth_failures_stamp ON hub_auth_failures (stamp_ms);
CREATE TABLE hub_viewer_sessions (
    id_hash bytea PRIMARY KEY,
    user_id text NOT NULL,
    key_hash bytea NOT NULL,
    expires_ms bigint NOT NULL
);
CREATE INDEX hub_viewer_sessions_expiry ON hub_viewer_sessions (expires_ms);
"""


async def _v9_shared_state(conn: asyncpg.Connection) -> None:
    await conn.execute(_V9)


MIGRATIONS: list[tuple[int, str, Step]] = [
    (1, "tables", _v1),
    (2, "row-level security", _v2_rls),
    (3, "full-text index", _v3_search_index),
    (4, "supersedes", _v4_supersedes),
    (5, "integer ids", _v5_integer_ids),
    (6, "sharing", _v6_sharing),
    (7, "links", _v7_links),
    (8, "usage counters", _v8_usage_counters),
    (9, "shared limits and viewer sessions", _v9_shared_state),
]


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply the missing steps in one transaction; returns the versions applied."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS hub_schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM hub_schema_migrations")}
        applied = []
        for version, name, step in MIGRATIONS:
            if version in done:
                continue
            await step(conn)
            await conn.execute(
                "INSERT INTO hub_schema_migrations (version, name) VALUES ($1, $2)", version, name
            )
            applied.append(version)
        return applied


async def migrate_url(database_url: str) -> list[int]:
    conn = await asyncpg.connect(database_url)
    try:
        return await migrate(conn)
    finally:
        await conn.close()
