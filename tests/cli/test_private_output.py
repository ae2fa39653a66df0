"""Files the `memory` CLI writes (an export with decrypted secrets, a backup) are 0600, in
directories it creates 0700, whatever the umask."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import Daemon, short_tmpdir

BIN = Path(sys.executable).parent
SECRET = "the vault passphrase is Hunter2Canary-5512"


def memory(daemon: Daemon, umask: int, *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "memory"), *args],
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=60,
        umask=umask,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask022", "umask000"])
def test_export_with_secrets_and_backup_are_private(daemon: Daemon, umask: int) -> None:
    body = {"content": SECRET, "force_sensitive": True}
    assert daemon.client().post("/api/memories", json=body).status_code == 201
    out = short_tmpdir()

    fresh = out / "export.jsonl"
    memory(daemon, umask, "export", "--include-sensitive", "-o", str(fresh))
    assert json.loads(fresh.read_text())["content"] == SECRET
    assert mode(fresh) == 0o600

    # An existing file others could read is replaced, not reused with its mode.
    existing = out / "existing.jsonl"
    existing.write_text("")
    os.chmod(existing, 0o644)
    memory(daemon, umask, "export", "--include-sensitive", "-o", str(existing))
    assert SECRET in existing.read_text() and mode(existing) == 0o600

    nested = out / "new-dir" / "export.jsonl"
    memory(daemon, umask, "export", "--include-sensitive", "-o", str(nested))
    assert mode(nested) == 0o600 and mode(nested.parent) == 0o700

    backup = out / "backups" / "nightly" / "memory.db"
    memory(daemon, umask, "backup", str(backup))
    assert mode(backup) == 0o600
    assert mode(backup.parent) == 0o700 and mode(backup.parent.parent) == 0o700
    assert sorted(p.name for p in out.iterdir()) == [
        "backups",
        "existing.jsonl",
        "export.jsonl",
        "new-dir",
    ]
