"""The scale benchmark's store: `bench/scale_corpus.py`'s memories written into a real memoryd
database, cached under /tmp/memoryd-scale/ so that later runs start at once.

How they are written, and why not through `import_many` or the daemon's import: the schema is
the store's own (`Database.open` runs every migration), and every row is the store's own
(`memory_core.writes.new_memory` checks and normalises the fields and decides sensitivity;
`memoryd.store.rows.row_values` seals a sensitive text, fingerprints it and stamps the fields
with the hybrid logical clock, exactly as a create does). Only the transport differs: one
`executemany` per 50,000 rows on a plain sqlite3 connection, the FTS triggers filling the index
as they do on every insert. The store's import makes a round trip to its writer thread per
statement (the duplicate check, the insert, the clock) in transactions of 100 so that
interactive writes are never held up; at its measured rate that is several minutes for a
million rows on this 2-core machine, spent on the import path (another helper's target), not
on what this benchmark measures. The corpus has no duplicate texts to merge, and every
`supersedes` names an earlier live memory, so the import's per-row checks would change nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from scale_corpus import Corpus

from memory_core import writes as rule
from memory_core.crypto.aead import Cipher
from memory_core.hlc import HLC
from memory_core.ids import uuid7
from memory_core.model import Memory
from memoryd.store.db import Database
from memoryd.store.rows import INSERT_ROW, row_values

CACHE = Path("/tmp/memoryd-scale")
CORPUS_VERSION = 1  # part of the cache file's name: bump when the corpus or the rows change
MAX_CONTENT_CHARS = 1400
BATCH = 50_000


class _FixedClock:
    """The clock of the year being replayed: each memory's fields are stamped when it was made."""

    def __init__(self) -> None:
        self.ms = 0

    def now_ms(self) -> int:
        return self.ms


def database(count: int, key_hex: str) -> Path:
    """The cached store of `count` memories, built first if missing."""
    CACHE.mkdir(mode=0o700, exist_ok=True)
    path = CACHE / f"scale-v{CORPUS_VERSION}-{count}.db"
    if not path.exists():
        partial = path.with_name(path.name + ".partial")
        for leftover in CACHE.glob(partial.name + "*"):
            leftover.unlink()
        build(partial, count, Cipher(bytes.fromhex(key_hex)))
        for suffix in ("-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        partial.rename(path)
    return path


def build(path: Path, count: int, cipher: Cipher) -> None:
    asyncio.run(_create_schema(path))
    clock = _FixedClock()
    hlc = HLC(clock)
    ids: list[str] = []
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # a cache file, rebuilt if a build is cut short
    conn.execute("PRAGMA cache_size=-262144")
    started = time.perf_counter()
    batch: list[dict[str, object]] = []
    sql = ""
    for index, synthetic in enumerate(Corpus().memories(count)):
        # A synthetic memory has a new memory's fields, name for name: the store's own rule
        # checks and normalises it as it would a request.
        fields = rule.new_memory(synthetic, MAX_CONTENT_CHARS)
        if synthetic.supersedes is not None:
            fields["supersedes"] = ids[synthetic.supersedes]
        clock.ms = synthetic.created_ms
        memory_id = uuid7(synthetic.created_ms)
        ids.append(memory_id)
        memory = Memory.blank(
            memory_id,
            category=fields["category"],
            source=fields["source"],
            created_ms=synthetic.created_ms,
            updated_ms=synthetic.created_ms,
        )
        memory = Memory(**{**memory.__dict__, **fields})
        memory.field_hlc = dict.fromkeys(fields, hlc.send())
        values = row_values(cipher, memory, fields["content"])
        sql = sql or INSERT_ROW
        batch.append(values)
        if len(batch) == BATCH or index == count - 1:
            conn.execute("BEGIN")
            conn.executemany(sql, batch)
            conn.execute("COMMIT")
            batch.clear()
            rate = (index + 1) / (time.perf_counter() - started)
            print(f"  {index + 1:>9,} memories written, {rate:,.0f}/s", flush=True)
    conn.execute("INSERT INTO meta (key, value) VALUES ('hlc', ?)", (str(hlc.last),))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA optimize")
    conn.close()
    print(f"  built {count:,} memories in {time.perf_counter() - started:.0f} s", flush=True)


async def _create_schema(path: Path) -> None:
    db = Database(path, readers=0)
    await db.open()
    await db.close()
