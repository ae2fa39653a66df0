"""What memoryd writes is its user's alone (0700 directories, 0600 files) whatever the umask, and
a directory it did not create is never chmodded: used when safe, refused with one line when
another user owns it or others may write to it (memory_core/private_files.py)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from memory_core.errors import UnsafeDirectory
from memory_core.private_files import private_dir, private_output, write_private_file
from tests.support import Daemon, daemon_env, run_module, short_tmpdir, wait_for_socket

UMASKS = [0o022, 0o000]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def start_with_umask(home: Path, umask: int, **extra: str) -> Daemon:
    daemon = Daemon(home, daemon_env(home, **extra))
    daemon.proc = subprocess.Popen(
        [sys.executable, "-m", "memoryd", "serve"],
        env=daemon.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        umask=umask,
    )
    wait_for_socket(daemon.socket, daemon.proc)
    return daemon


def modes_under(root: Path) -> dict[str, int]:
    found = {".": mode(root)}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            found[str(path.relative_to(root))] = mode(path)
    return found


@pytest.mark.parametrize("umask", UMASKS, ids=["umask022", "umask000"])
def test_a_new_memory_home_is_private_whatever_the_umask(umask: int) -> None:
    parent = short_tmpdir()
    home = parent / "new" / "memory-home"  # neither exists yet
    daemon = start_with_umask(home, umask)
    try:
        client = daemon.client()
        for content, sensitive in (("we deploy on Fridays", False), ("vault code 1234", True)):
            body = {"content": content, "force_sensitive": sensitive}
            assert client.post("/api/memories", json=body).status_code == 201
        found = modes_under(home)
    finally:
        assert daemon.stop() == 0
    assert mode(parent / "new") == 0o700
    expected_files = {"memory/memory.db", "memory/memory.db-wal", "keys/memory.key", "run/d.sock"}
    assert expected_files <= set(found)
    for name, bits in found.items():
        path = home / name
        want = 0o700 if path.is_dir() else 0o600
        assert bits == want, f"{name} is {bits:04o} under umask {umask:03o}"


def refused(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = run_module("memoryd", "serve", env=env, timeout=20)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    return done


@pytest.mark.parametrize("where", ["socket", "database", "key"])
def test_an_existing_directory_others_can_write_is_refused_and_left_alone(where: str) -> None:
    base = short_tmpdir()
    home = base / "home"
    home.mkdir(mode=0o700)
    shared = home / "keys" if where == "key" else base / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # what /tmp looks like
    env = daemon_env(home)
    if where == "socket":
        env["MEMORY_SOCKET"] = str(shared / "m.sock")
    elif where == "database":
        env["MEMORY_DB"] = str(shared / "memory.db")
    done = refused(env)
    assert f"in {shared}:" in done.stderr
    assert "other users can write to it (mode 1777)" in done.stderr
    assert mode(shared) == 0o1777  # never chmodded
    assert list(shared.iterdir()) == []


def test_an_existing_safe_directory_is_used_as_it_is() -> None:
    base = short_tmpdir()
    shared = base / "projects-db"
    shared.mkdir()
    os.chmod(shared, 0o755)
    home = base / "home"
    daemon = Daemon(home, daemon_env(home, MEMORY_DB=str(shared / "memory.db"))).start()
    try:
        assert daemon.client().get("/health").status_code == 200
    finally:
        assert daemon.stop() == 0
    assert mode(shared) == 0o755  # ours, and only we can write it: not memoryd's to change
    assert mode(shared / "memory.db") == 0o600


def test_a_directory_of_another_user_is_refused() -> None:
    directory = short_tmpdir()
    with pytest.raises(UnsafeDirectory, match=r"belongs to uid \d+, not to uid \d+"):
        private_dir(directory, "the socket", uid=os.getuid() + 1)
    (directory / "f").write_text("x")
    with pytest.raises(UnsafeDirectory, match="is not a directory"):
        private_dir(directory / "f", "the socket")
    assert mode(directory) == 0o700


@pytest.mark.parametrize("umask", UMASKS, ids=["umask022", "umask000"])
def test_private_files_replace_a_wider_file_and_never_show_half_of_one(umask: int) -> None:
    directory = short_tmpdir()
    old_umask = os.umask(umask)
    try:
        target = directory / "export.jsonl"
        target.write_text("old\n")
        os.chmod(target, 0o644)
        old_inode = target.stat().st_ino
        with pytest.raises(RuntimeError), private_output(target) as out:
            out.write(b"half")
            raise RuntimeError("the export failed")
        assert target.read_text() == "old\n" and mode(target) == 0o644
        with private_output(target) as out:
            out.write(b"new\n")
        assert target.read_text() == "new\n" and mode(target) == 0o600
        assert target.stat().st_ino != old_inode  # a reader of the old file sees none of it
        assert write_private_file(directory / "k", b"1") and mode(directory / "k") == 0o600
        assert not write_private_file(directory / "k", b"2", replace=False)
        assert (directory / "k").read_bytes() == b"1"
    finally:
        os.umask(old_umask)
    assert sorted(p.name for p in directory.iterdir()) == ["export.jsonl", "k"]
