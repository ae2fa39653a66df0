"""`memory doctor`'s checks of the stored data: the database, its full-text index, the key file.

Also holds `Check`, the one finding every doctor check reports, and the start-up guard
`missing_key_problem`, which reads the same rows as the key check.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from memory_core.config import Settings
from memory_core.disk import has_room
from memory_core.errors import ConfigError
from memoryd.store.migrations import MIGRATIONS
from memoryd.store.wal import damage_advice, damage_message, damaged_wal

Status = Literal["ok", "warn", "fail"]
_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Check:
    area: str
    status: Status
    detail: str
    fix: str = ""


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _restore_advice(db: Path) -> str:
    return (
        f"stop memoryd, move the file aside (mv {db} {db}.broken), then restore a backup to "
        f"{db} (`memory backup` makes them) or let memoryd start a new one; "
        f"`sqlite3 {db}.broken .recover | sqlite3 {db}` may salvage what is readable"
    )


def _disk_full(db: Path) -> Check:
    return Check(
        "disk",
        "fail",
        f"disk full: no room left on the disk holding {db}; memoryd cannot write (nor start) "
        "until there is. This says nothing against the database itself",
        f"free some space on that disk (df -h {db.parent}), then run `memory doctor` again",
    )


def check_database(settings: Settings, rebuild_fts: bool = False) -> list[Check]:
    db = settings.db_path
    if db.parent.is_dir() and not has_room(db.parent):
        return [_disk_full(db)]  # SQLite would only say "disk I/O error": not damage
    if not db.exists():
        return [Check("database", "ok", f"{db} does not exist yet; memoryd creates it on start")]
    if not db.is_file():
        return [
            Check(
                "database",
                "fail",
                f"{db} is not a regular file; memoryd refuses to run on it",
                f"move it aside (mv {db} {db}.old) or point MEMORY_DB at the database file",
            )
        ]
    if not os.access(db, os.R_OK | os.W_OK) or not os.access(db.parent, os.W_OK | os.X_OK):
        return [
            Check(
                "database",
                "fail",
                f"{db} is not readable and writable by you; memoryd refuses to run on it",
                f"check its owner and mode (ls -l {db}); it should be yours with mode 0600",
            )
        ]
    with db.open("rb") as handle:
        header = handle.read(16)
    if header and header != _HEADER:
        return [
            Check(
                "database",
                "fail",
                f"{db} is not a SQLite database; memoryd refuses to touch it",
                _restore_advice(db),
            )
        ]
    found: list[Check] = []
    if file_mode(db) & 0o077:
        found.append(
            Check("database", "fail", f"{db} has mode {file_mode(db):04o}", f"chmod 600 {db}")
        )
    problem = damaged_wal(db)  # before connecting: SQLite's replay would drop the rest
    if problem is not None:
        return [*found, Check("database", "fail", damage_message(db, problem), damage_advice(db))]
    try:
        conn = sqlite3.connect(db, isolation_level=None, timeout=10)
    except sqlite3.Error as exc:
        return [*found, Check("database", "fail", f"cannot open {db}: {exc}", _restore_advice(db))]
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check(5)").fetchall()]
        if rows != ["ok"]:
            found.append(
                Check(
                    "database",
                    "fail",
                    f"{db} is damaged: {'; '.join(rows)}. memoryd refuses to run on it",
                    _restore_advice(db),
                )
            )
            return found
        version = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
        count = conn.execute("SELECT COUNT(*) FROM memories WHERE deleted_ms IS NULL").fetchone()[0]
        newest = MIGRATIONS[-1].version
        if version is not None and version > newest:
            found.append(
                Check(
                    "database",
                    "fail",
                    f"schema version {version} is newer than this memoryd knows ({newest})",
                    "upgrade memoryd (pip install -U memoryd) to the version that wrote it",
                )
            )
        else:
            found.append(
                Check("database", "ok", f"{db}: integrity ok, {count} memories, schema {version}")
            )
        found.append(_check_fts(conn, rebuild_fts))
    except sqlite3.DatabaseError as exc:
        found.append(
            Check(
                "database",
                "fail",
                f"{db} is damaged: {exc}. memoryd refuses to run on it",
                _restore_advice(db),
            )
        )
    finally:
        conn.close()
    return found


# With rank = 1 FTS5 checks the index's own structure (what plain 'integrity-check' does) and
# also compares it with the external content table (the memories), which is what recall relies
# on. Running the plain check first as well read the whole index once more for nothing: 4 of
# the doctor's 37 s at a million memories (bench/scale_bench.py).
FTS_CHECKS = ("INSERT INTO memories_fts(memories_fts, rank) VALUES('integrity-check', 1)",)


def _check_fts(conn: sqlite3.Connection, rebuild: bool) -> Check:
    try:
        for statement in FTS_CHECKS:
            conn.execute(statement)
        return Check("fts", "ok", "full-text index matches the memories")
    except sqlite3.DatabaseError as exc:
        if not rebuild:
            return Check(
                "fts",
                "fail",
                f"the full-text index does not match the memories ({exc}); recall misses rows",
                "`memory doctor --rebuild-fts` rebuilds it from the memories table (no data lost)",
            )
    conn.execute("INSERT INTO memories_fts(memories_fts) VALUES('rebuild')")
    for statement in FTS_CHECKS:
        conn.execute(statement)
    return Check("fts", "ok", "full-text index was damaged and has been rebuilt")


def _sensitive_rows(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return int(
                conn.execute("SELECT COUNT(*) FROM memories WHERE secret IS NOT NULL").fetchone()[0]
            )
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def check_key_opens_data(settings: Settings, key: bytes, source: str) -> Check | None:
    """A valid key may still not be the one the stored secrets were sealed with (another
    machine's key file, a mistyped passphrase): then secret_get answers 409 wrong_key."""
    from memoryd.key_fit import key_fit  # cryptography: only when a key is checked

    fit = key_fit(settings.db_path, key)
    if not fit.failed:
        return None
    if fit.failed == fit.checked:
        detail = (
            f"{source} is a valid key, but not the one the encrypted memories were sealed with "
            f"(none of the {fit.checked} checked opens); secret_get answers wrong_key"
        )
    else:
        detail = (
            f"{fit.failed} of the {fit.checked} encrypted memories checked do not open with "
            f"{source} (sealed with another key, or damaged)"
        )
    fix = "set MEMORY_ENCRYPTION_KEY or restore the key file they were sealed with, then restart"
    return Check("key", "fail", detail, fix)


def check_key(settings: Settings) -> list[Check]:
    from memory_core.crypto.keys import KEY_BYTES, key_from_setting

    if settings.encryption_key is not None:
        try:
            key = key_from_setting(settings.encryption_key.get_secret_value())
        except ConfigError as exc:
            return [Check("key", "fail", exc.message, "fix MEMORY_ENCRYPTION_KEY")]
        mismatch = check_key_opens_data(settings, key, "MEMORY_ENCRYPTION_KEY")
        if mismatch is not None:
            return [mismatch]
        return [Check("key", "ok", "MEMORY_ENCRYPTION_KEY is set (the key file is not used)")]
    path = settings.key_file
    if not path.exists():
        secrets = _sensitive_rows(settings.db_path) if settings.db_path.exists() else 0
        if secrets:
            return [
                Check(
                    "key",
                    "fail",
                    f"{path} is missing but {secrets} encrypted memories need it",
                    f"restore the key file to {path} (mode 0600) from a backup, or set "
                    "MEMORY_ENCRYPTION_KEY to the value you used",
                )
            ]
        return [Check("key", "ok", f"{path} does not exist yet; memoryd creates it on start")]
    found: list[Check] = []
    if file_mode(path) & 0o077:
        found.append(
            Check("key", "fail", f"{path} has mode {file_mode(path):04o}", f"chmod 600 {path}")
        )
    try:
        raw = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        found.append(
            Check(
                "key",
                "fail",
                f"{path} is damaged (expected 64 hex digits); memoryd will not start",
                "restore it from a backup; without it encrypted memories cannot be read",
            )
        )
    elif (mismatch := check_key_opens_data(settings, raw, str(path))) is not None:
        found.append(mismatch)
    elif not found:
        found.append(Check("key", "ok", f"{path}: 0600, valid"))
    return found


def missing_key_problem(settings: Settings) -> str | None:
    """Why memoryd must not start: the key file is gone while encrypted memories need it.

    Starting would create a new key, and sensitive memories written from then on would be
    sealed with a key different from the older ones'."""
    if settings.encryption_key is not None or settings.key_file.exists():
        return None
    if not settings.db_path.is_file():
        return None
    secrets = _sensitive_rows(settings.db_path)
    if not secrets:
        return None
    return (
        f"the key file {settings.key_file} is missing but {secrets} encrypted memories in "
        f"{settings.db_path} need it; refusing to create a new key. Restore the key file "
        "(mode 0600) or set MEMORY_ENCRYPTION_KEY to the value you used"
    )
