"""The asyncpg pool and user-scoped transactions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


async def _init(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(database_url: str, min_size: int, max_size: int) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        database_url, min_size=min_size, max_size=max_size, init=_init, command_timeout=60
    )
    assert pool is not None
    return pool


@asynccontextmanager
async def user_tx(pool: asyncpg.Pool, user: str) -> AsyncIterator[asyncpg.Connection]:
    """A transaction that declares its user to the row-level security policies."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('memory_hub.user_id', $1, true)", user)
        yield conn
