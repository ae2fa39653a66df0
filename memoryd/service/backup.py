"""`memory backup PATH`: a consistent copy of the live database, through SQLite's backup API.

The copy is taken in one step (one read transaction), so it is a snapshot even while the daemon
writes; it is written to a temporary 0600 file beside PATH, switched out of WAL mode so it is a
single self-contained file, checked, and only then renamed to PATH. PATH is never overwritten
unless asked. Sensitive memories stay encrypted in the copy: keep the key file
(`$MEMORY_HOME/keys/memory.key`) or MEMORY_ENCRYPTION_KEY with it, or they cannot be read.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from memory_core.config import Settings
from memory_core.errors import InvalidInput, StoreCorrupt
from memory_core.private_files import make_private_dirs
from memoryd.store.db import prepare_path


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    memories: int
    seconds: float


def backup_database(db_path: Path, dest: Path, *, overwrite: bool = False) -> BackupResult:
    started = time.monotonic()
    if not db_path.exists():
        raise InvalidInput(f"there is no database at {db_path} to back up")
    prepare_path(db_path)  # refuses a file that is not SQLite, or not ours to read
    dest = dest.expanduser().absolute()
    if dest.exists() and not overwrite:
        raise InvalidInput(f"{dest} already exists; choose another path or pass --force")
    if dest.resolve() == db_path.resolve():
        raise InvalidInput("the backup path is the database itself")
    make_private_dirs(dest.parent)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    old_umask = os.umask(0o077)
    try:
        source = sqlite3.connect(db_path, isolation_level=None, timeout=10)
        try:
            source.execute("PRAGMA query_only=1")
            copy = sqlite3.connect(tmp, isolation_level=None)
            try:
                source.backup(copy)  # pages=-1: everything in one step, one snapshot
                copy.execute("PRAGMA journal_mode=DELETE")
                check = copy.execute("PRAGMA quick_check(1)").fetchone()
                if check is None or check[0] != "ok":
                    raise StoreCorrupt(f"the copy failed its integrity check: {check}")
                memories = copy.execute(
                    "SELECT COUNT(*) FROM memories WHERE deleted_ms IS NULL"
                ).fetchone()[0]
            finally:
                copy.close()
        finally:
            source.close()
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        if overwrite:
            os.replace(tmp, dest)
        else:
            os.link(tmp, dest)  # fails rather than replace a file that appeared meanwhile
            tmp.unlink()
    except sqlite3.DatabaseError as exc:
        raise StoreCorrupt(f"cannot back up {db_path}: {exc}. Run `memory doctor`.") from None
    finally:
        os.umask(old_umask)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return BackupResult(dest, dest.stat().st_size, int(memories), time.monotonic() - started)


def backup_command(settings: Settings, args: Any) -> int:
    """`memory backup PATH [--force]`."""
    result = backup_database(settings.db_path, Path(args.path), overwrite=bool(args.force))
    if args.json:
        print(json.dumps({**asdict(result), "path": str(result.path)}))
    else:
        print(
            f"Backed up {result.memories} memories ({result.bytes / 1e6:.1f} MB) to {result.path} "
            f"in {result.seconds:.2f} s. Keep your key ({settings.key_file}, or "
            "MEMORY_ENCRYPTION_KEY) too: sensitive memories are encrypted with it."
        )
    return 0
