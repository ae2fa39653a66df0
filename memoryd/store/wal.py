"""Whether SQLite would silently drop committed transactions from a damaged write-ahead log.

Opening a database replays its `-wal` file up to the first frame whose checksum fails and
ignores everything after it, committed or not, without an error; the first connection to
close then checkpoints what it kept and deletes the log. After a crash (kill -9, a power cut)
the log holds the transactions not yet copied into the database, so a few damaged bytes in
its middle would lose every later acknowledged write, for good, on the next start. A bad
frame with nothing committed after it is the normal torn tail of a cut write, and is fine.

The format (https://www.sqlite.org/fileformat.html#the_write_ahead_log): a 32-byte header
(magic, version, page size, checkpoint sequence, two salts, a checksum of the first 24 bytes),
then frames of a 24-byte header (page number, database size after a commit or 0, the two salts,
a running checksum over every frame so far) and one page. Frames whose salts differ from the
header's are left over from before the last checkpoint.
"""

from __future__ import annotations

import struct
from pathlib import Path

_MAGIC = (0x377F0682, 0x377F0683)  # the low bit: checksums over big-endian words
_HEADER = struct.Struct(">8I")
_FRAME = struct.Struct(">6I")
_MASK = 0xFFFFFFFF


def wal_path(db: Path) -> Path:
    return db.with_name(db.name + "-wal")


def _checksum(data: bytes, seed: tuple[int, int], big_endian: bool) -> tuple[int, int]:
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    s1, s2 = seed
    for i in range(0, len(words), 2):
        s1 = (s1 + words[i] + s2) & _MASK
        s2 = (s2 + words[i + 1] + s1) & _MASK
    return s1, s2


def damaged_wal(db: Path) -> str | None:
    """What is wrong with `db`'s write-ahead log if opening it would drop a committed
    transaction; None when there is no log, or it is whole, or only its tail is cut."""
    try:
        data = wal_path(db).read_bytes()
    except FileNotFoundError:
        return None
    if len(data) <= _HEADER.size:
        return None  # empty, or only a header: nothing to replay
    magic, _version, page_size, _seq, salt1, salt2, c1, c2 = _HEADER.unpack_from(data)
    frame_size = _FRAME.size + page_size
    if magic not in _MAGIC or page_size < 512 or page_size & (page_size - 1):
        return f"its header is damaged ({len(data) - _HEADER.size} bytes of log after it)"
    big_endian = bool(magic & 1)
    if _checksum(data[:24], (0, 0), big_endian) != (c1, c2):
        return f"its header is damaged ({len(data) - _HEADER.size} bytes of log after it)"
    frames = (len(data) - _HEADER.size) // frame_size
    running = (c1, c2)
    for index in range(frames):
        at = _HEADER.size + index * frame_size
        _page, _commit, s1, s2, f1, f2 = _FRAME.unpack_from(data, at)
        if (s1, s2) != (salt1, salt2):
            return None  # the end of this log; older frames follow
        body = data[at : at + 8] + data[at + _FRAME.size : at + frame_size]
        running = _checksum(body, running, big_endian)
        if running != (f1, f2):
            lost = _commits_after(data, index, frames, frame_size, (salt1, salt2), big_endian)
            if lost:
                return (
                    f"frame {index} of {frames} is damaged and {lost} committed "
                    "transaction(s) follow it"
                )
            return None
    return None


def _commits_after(
    data: bytes,
    bad: int,
    frames: int,
    frame_size: int,
    salts: tuple[int, int],
    big_endian: bool,
) -> int:
    """Commit frames after the damaged one that check out: each frame stores the running
    checksum, so one can be checked from its predecessor's stored value even when that
    predecessor is the damaged one."""
    previous = _FRAME.unpack_from(data, _HEADER.size + bad * frame_size)[4:6]
    commits = 0
    for index in range(bad + 1, frames):
        at = _HEADER.size + index * frame_size
        _page, commit, s1, s2, f1, f2 = _FRAME.unpack_from(data, at)
        if (s1, s2) != salts:
            break
        body = data[at : at + 8] + data[at + _FRAME.size : at + frame_size]
        if commit and _checksum(body, previous, big_endian) == (f1, f2):
            commits += 1
        previous = (f1, f2)
    return commits


def damage_message(db: Path, problem: str) -> str:
    return (
        f"the write-ahead log {wal_path(db)} is damaged: {problem}; opening {db} would drop "
        "them without a word, so memoryd refuses to touch it"
    )


def damage_advice(db: Path) -> str:
    wal = wal_path(db)
    return (
        "stop memoryd and keep both files: restore a backup (`memory backup` makes them), or, "
        f"to give those transactions up, move the log aside (mv {wal} {wal}.broken) and start "
        "again"
    )
