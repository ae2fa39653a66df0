"""A database damaged past its 100-byte header (the schema page) is refused, and the refusal
leaves no connection behind: an unclosed aiosqlite connection keeps its thread, which is not
a daemon thread, and that thread kept `memoryd serve` alive after it said it refused. The open
runs in a child process, so that a leaked thread fails the test instead of hanging the run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from memory_core.crypto.aead import Cipher
from memoryd.store.db import Database
from memoryd.store.memories import MemoryStore, NewMemory
from tests.conftest import FakeClock
from tests.support import damage_schema_page

OPEN = """
import asyncio, sys
from pathlib import Path
from memory_core.errors import StoreCorrupt
from memoryd.store.db import Database
try:
    asyncio.run(Database(Path(sys.argv[1])).open())
except StoreCorrupt as exc:
    print(exc.message)
"""


async def test_a_damaged_schema_page_is_refused_and_the_process_can_exit(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    db = Database(path)
    await db.open()
    store = MemoryStore(db, Cipher(b"k" * 32), FakeClock(), max_content_chars=1400)
    await store.load_clock()
    await store.create(NewMemory("The staging cluster is in eu-west-1"))
    await db.close()
    damage_schema_page(path)
    done = subprocess.run(
        [sys.executable, "-c", OPEN, str(path)],
        capture_output=True,
        text=True,
        timeout=30,  # the refusal was printed at once, then the process never exited
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "cannot be opened" in done.stdout
