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


MIGRATIONS: list[tuple[int, str, Step]] = [
    (1, "tables", _v1),
    (2, "row-level security", _v2_rls),
    (3, "full-text index", _v3_search_index),
    (4, "supersedes", _v4_supersedes),
    (5, "integer ids", _v5_integer_ids),
    (7, "links", _v7_links),
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
