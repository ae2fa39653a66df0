"""The `memory` CLI as a real process against a real daemon, imports of the original project's
database (CLI and HTTP), the export/import round trip, and start-up errors."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract_original.schema import ORIGINAL_SCHEMA
from tests.support import Daemon, daemon_env, running_daemon, short_tmpdir

BIN = Path(sys.executable).parent


def memory(daemon_or_env: Daemon | dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = daemon_or_env.env if isinstance(daemon_or_env, Daemon) else daemon_or_env
    return subprocess.run(
        [str(BIN / "memory"), *args], env=env, capture_output=True, text=True, timeout=60
    )


def ok(daemon: Daemon, *args: str) -> str:
    done = memory(daemon, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_cli_commands_against_a_daemon(daemon: Daemon) -> None:
    out = ok(daemon, "remember", "The staging cluster is in eu-west-1", "-c", "fact",
             "-t", "infra,aws", "-p", "platform", "-i", "0.7")  # fmt: skip
    assert out.startswith("Stored ") and "in facts" in out
    memory_id = out.split()[1]
    assert len(memory_id) == 36
    stored = json.loads(ok(daemon, "--json", "remember", "I prefer tabs", "-c", "preference"))
    assert stored["category"] == "preferences"

    table = ok(daemon, "recall", "staging", "cluster", "region")
    lines = table.splitlines()
    assert lines[0].split() == ["#", "ID", "CATEGORY", "IMP", "SCORE", "PROJECT", "CONTENT"]
    # The short integer id first, then the UUID's first 23 characters.
    num, short = lines[1].split()[:2]
    assert num.isdigit() and short == memory_id[:23] and "platform" in lines[1]
    assert "The staging cluster is in eu-west-1" in lines[1]
    found = json.loads(ok(daemon, "--json", "recall", "staging", "cluster"))
    assert found["memories"][0]["id"] == memory_id and found["memories"][0]["score"] > 0

    listed = ok(daemon, "list", "-c", "facts")
    assert "1 of 1 shown" in listed and memory_id[:23] in listed
    assert json.loads(ok(daemon, "--json", "list"))["total"] == 2

    shown = ok(daemon, "show", memory_id[:23])
    assert shown.splitlines()[0] == "The staging cluster is in eu-west-1"
    assert "infra, aws" in shown and "platform" in shown

    updated = json.loads(ok(daemon, "--json", "update", memory_id[:23], "-i", "0.9"))
    assert updated["updated"] == memory_id and updated["memory"]["importance"] == 0.9
    nothing = memory(daemon, "update", memory_id)
    assert nothing.returncode == 1 and "nothing to update" in nothing.stderr

    stats = ok(daemon, "stats")
    assert stats.startswith("2 memories (0 sensitive), 0 deleted")
    status = ok(daemon, "status")
    assert "memoryd" in status and str(daemon.socket) in status and "memories  2" in status

    assert ok(daemon, "forget", memory_id[:23]).startswith(f"Forgot {memory_id}")
    missing = memory(daemon, "show", memory_id)
    assert missing.returncode == 1 and "deleted" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = memory(daemon, "remember", "x", "-c", "recipes")
    assert bad.returncode == 1 and "facts, preferences" in bad.stderr


def test_no_daemon_says_how_to_start_one() -> None:
    home = short_tmpdir()
    done = memory(daemon_env(home), "status")
    assert done.returncode == 3
    assert "not running" in done.stderr and "memoryd serve" in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


def test_config_errors_are_one_line_naming_the_variable() -> None:
    home = short_tmpdir()
    for variable, value in (
        ("MEMORY_SYNC_INTERVAL", "abc"),
        ("MEMORY_API_URL", "ftp://hub"),
    ):
        env = daemon_env(home, **{variable: value})
        for command in ([str(BIN / "memory"), "status"], [str(BIN / "memoryd"), "serve"]):
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 2, (command, done.stderr)
            assert variable in done.stderr and "Traceback" not in done.stderr
            assert done.stderr.count("\n") == 1, done.stderr
    bad_key = daemon_env(home, MEMORY_ENCRYPTION_KEY="short")
    done = subprocess.run([str(BIN / "memoryd"), "serve"], env=bad_key, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "MEMORY_ENCRYPTION_KEY" in done.stderr
    assert "short" not in done.stderr  # a key, even a bad one, is never echoed


ORIGINAL_ROWS = [
    # content, category, tags, keywords, importance, sensitive, created, updated
    ("I prefer Svelte for new frontends", "preference", "frontend,svelte", "ui js", 0.8, 0,
     "2026-03-14T10:00:00.123456+00:00", "2026-03-15T11:30:00.654321+00:00"),
    ("Alice owns the billing service", "people", "billing, ownership ", "", 0.5, 0,
     "2026-03-16T09:00:00+00:00", "2026-03-16T09:00:00+00:00"),
    ("A drift twin of the original's categories", " Bug ", "", "", 1.7, 0,
     "2026-04-01T00:00:00+00:00", "2026-04-01T00:00:00+00:00"),
    ("The NAS admin passphrase is correct-horse-battery", "facts", "nas", "", 0.9, 1,
     "2026-05-01T08:00:00+00:00", "2026-05-02T08:00:00+00:00"),
]  # fmt: skip


def original_db(directory: Path) -> Path:
    path = directory / "memory.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(ORIGINAL_SCHEMA)
        conn.executemany(
            "INSERT INTO memories (content, category, tags, expanded_keywords, importance, "
            "is_sensitive, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ORIGINAL_ROWS,
        )
    conn.close()
    return path


def check_original_import(daemon: Daemon) -> None:
    client = daemon.client()
    listed = client.get("/api/memories", params={"limit": 100}).json()
    assert listed["total"] == 4
    by_start = {m["created_at"][:10]: m for m in listed["memories"]}
    svelte = by_start["2026-03-14"]
    assert svelte["content"] == "I prefer Svelte for new frontends"
    assert svelte["category"] == "preferences" and svelte["tags"] == ["frontend", "svelte"]
    assert svelte["expanded_keywords"] == "ui js" and svelte["importance"] == 0.8
    assert svelte["created_at"] == "2026-03-14T10:00:00.123+00:00"
    assert svelte["updated_at"] == "2026-03-15T11:30:00.654+00:00"
    assert svelte["source"] == "import"
    assert by_start["2026-03-16"]["tags"] == ["billing", "ownership"]
    assert by_start["2026-04-01"]["category"] == "gotchas"  # the original's fold of "bug"
    assert by_start["2026-04-01"]["importance"] == 1.0
    nas = by_start["2026-05-01"]
    assert nas["is_sensitive"] is True and nas["content"].startswith("[SENSITIVE")
    secret = client.post(f"/api/memories/{nas['id']}/secret").json()
    assert secret["content"] == "The NAS admin passphrase is correct-horse-battery"
    client.close()


def test_import_of_an_original_database_via_the_cli(daemon: Daemon) -> None:
    source = original_db(short_tmpdir())
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    out = json.loads(ok(daemon, "--json", "import", "--from-claude-memory-mcp", str(source)))
    assert out == {
        "imported": 4,
        "duplicates": 0,
        "existing": 0,
        "skipped_sensitive": 0,
        "rejected": [],
    }
    check_original_import(daemon)
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before  # read-only
    again = json.loads(ok(daemon, "--json", "import", "--from-claude-memory-mcp", str(source)))
    assert again["imported"] == 0 and again["duplicates"] == 4
    assert daemon.client().get("/health").json()["memories"] == 4
    daemon.stop()
    assert b"correct-horse-battery" not in daemon.db.read_bytes()


def test_import_of_an_original_database_via_http(daemon: Daemon) -> None:
    raw = original_db(short_tmpdir()).read_bytes()
    response = daemon.client().post(
        "/api/memories/import",
        content=raw,
        headers={"content-type": "application/vnd.sqlite3"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 4
    check_original_import(daemon)
    garbage = daemon.client().post(
        "/api/memories/import",
        content=b"SQLite format 3\x00" + b"\x00" * 200,
        headers={"content-type": "application/vnd.sqlite3"},
    )
    assert garbage.status_code == 422 and garbage.json()["error"]["message"]


def original_db_with_bad_rows(directory: Path) -> Path:
    """ORIGINAL_ROWS (ids 1-4), then a row longer than the daemon takes (id 5: the original
    once allowed longer content), one of a category nobody knows (id 6) and a good one (id 7)."""
    path = original_db(directory)
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO memories (content, category, created_at, updated_at) "
            "VALUES (?, ?, '2026-06-01T00:00:00+00:00', '2026-06-01T00:00:00+00:00')",
            [("x" * 2017, "facts"), ("A row of a made-up category", "banana"),
             ("The last good row", "facts")],
        )  # fmt: skip
    conn.close()
    return path


def test_an_import_skips_bad_rows_and_names_them_by_their_source_ids(daemon: Daemon) -> None:
    """Issue 19: one row of 2,017 characters (and one of an unknown category) used to fail the
    whole import, named as "item 10". Now the rest is imported and the report names the rows
    by their ids in the original database; the exit status says rows were skipped; running it
    again imports nothing twice."""
    source = original_db_with_bad_rows(short_tmpdir())
    done = memory(daemon, "--json", "import", "--from-claude-memory-mcp", str(source))
    assert done.returncode == 4, done.stderr
    out = json.loads(done.stdout)
    assert out["imported"] == 5
    assert [(r["row"], r["code"]) for r in out["rejected"]] == [
        (5, "content_too_long"),
        (6, "unknown_category"),
    ]
    assert "2017" in out["rejected"][0]["reason"] or "2,017" in out["rejected"][0]["reason"]
    assert "banana" in out["rejected"][1]["reason"]
    listed = daemon.client().get("/api/memories", params={"limit": 100}).json()
    assert listed["total"] == 5
    assert "The last good row" in {m["content"] for m in listed["memories"]}

    human = memory(daemon, "import", "--from-claude-memory-mcp", str(source))
    assert human.returncode == 4
    assert "Imported 0, merged 5 duplicates" in human.stdout
    assert "row 5: " in human.stdout and "row 6: " in human.stdout
    assert daemon.client().get("/health").json()["memories"] == 5

    # The same over HTTP: an original database's bad rows are reported, not a 422.
    response = daemon.client().post(
        "/api/memories/import",
        content=source.read_bytes(),
        headers={"content-type": "application/vnd.sqlite3"},
    )
    assert response.status_code == 200, response.text
    assert [r["row"] for r in response.json()["rejected"]] == [5, 6]
    assert response.json()["imported"] == 0


def test_a_json_lines_import_names_bad_lines(daemon: Daemon, tmp_path: Path) -> None:
    lines = [
        json.dumps({"content": "first good line"}),
        "{not json",
        json.dumps({"content": "bad importance", "importance": 7}),
        "",
        json.dumps({"content": "second good line", "category": "people"}),
        json.dumps({"content": "y" * 5000}),
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    done = memory(daemon, "--json", "import", str(path))
    assert done.returncode == 4, done.stderr
    out = json.loads(done.stdout)
    assert out["imported"] == 2
    assert [r["line"] for r in out["rejected"]] == [2, 3, 6]
    assert "not JSON" in out["rejected"][0]["reason"]
    assert "importance" in out["rejected"][1]["reason"]
    # Without skip_invalid the HTTP API stays all or nothing.
    whole = daemon.client().post("/api/memories/import", json=[{"content": "z"}, {"x": 1}])
    assert whole.status_code == 422 and whole.json()["error"]["item"] == 1
    assert daemon.client().get("/health").json()["memories"] == 2


def test_an_original_category_is_kept_folded_or_refused_never_rewritten(daemon: Daemon) -> None:
    """The original's canonical categories import as they are; one it never allowed is refused
    by name (with the allowed set), never turned into `facts`."""
    path = short_tmpdir() / "memory.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(ORIGINAL_SCHEMA)
        conn.executemany(
            "INSERT INTO memories (content, category, created_at, updated_at) "
            "VALUES (?, ?, '2026-05-01T00:00:00+00:00', '2026-05-01T00:00:00+00:00')",
            [
                ("Docker restarts need the socket", "gotchas"),
                ("The NAS is at rack 2", "Infrastructure"),
                ("Free-form category from the old store", "random-stuff"),
            ],
        )
    conn.close()
    response = daemon.client().post(
        "/api/memories/import",
        content=path.read_bytes(),
        headers={"content-type": "application/vnd.sqlite3"},
    )
    assert "random-stuff" in response.text and "post-mortems" in response.text, response.text
    listed = daemon.client().get("/api/memories", params={"limit": 100}).json()["memories"]
    assert "Free-form category from the old store" not in [m["content"] for m in listed]
    kept = {m["content"]: m["category"] for m in listed}
    assert set(kept.values()) <= {"gotchas", "infrastructure"}, kept


@pytest.mark.slow
def test_export_import_round_trip_is_lossless(daemon: Daemon, tmp_path: Path) -> None:
    client = daemon.client()
    ids = []
    for n, (content, extra) in enumerate(
        [
            ("Round trip plain memory", {"tags": ["a", "b"], "project": "rt"}),
            ("Round trip with keywords", {"expanded_keywords": "alpha beta", "importance": 0.2}),
            ("Round trip secret is hunter2hunter2", {"force_sensitive": True}),
            ("Emoji and unicode survive: 🦀 naïve 日本語", {"category": "people"}),
        ]
    ):
        made = client.post("/api/memories", json={"content": content, **extra}).json()
        ids.append(made["id"])
        if n == 0:
            client.put(f"/api/memories/{made['id']}", json={"importance": 0.6})
    client.delete(f"/api/memories/{ids[3]}")
    full = tmp_path / "full.jsonl"
    ok(daemon, "export", "--include-sensitive", "-o", str(full))
    partial = tmp_path / "partial.jsonl"
    ok(daemon, "export", "-o", str(partial))
    original = [json.loads(line) for line in full.read_text().splitlines()]
    assert [m["id"] for m in original] == ids[:3]
    assert "hunter2hunter2" not in partial.read_text()

    with running_daemon() as other:
        out = json.loads(ok(other, "--json", "import", str(full)))
        assert out["imported"] == 3
        copied = [
            json.loads(line)
            for line in other.client()
            .get("/api/memories/export", params={"include_sensitive": "1"})
            .text.splitlines()
        ]
        assert copied == original  # ids, timestamps, tags, sensitive content: all equal
        again = json.loads(ok(other, "--json", "import", str(full)))
        assert again["existing"] == 3 and again["imported"] == 0

    with running_daemon() as third:
        text = ok(third, "import", str(partial))
        assert "Imported 2" in text and "skipped 1 sensitive" in text


def test_an_id_with_control_characters_is_a_clear_error(daemon: Daemon) -> None:
    for args in (
        ["show", "01a20d4b\n8483"],
        ["forget", "\x1b[31m01a2"],
        ["update", "a\rb", "-i", "0.3"],
    ):
        done = memory(daemon, *args)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert done.stderr == f"memory: {args[1]!r} is not a memory id\n"


def test_short_ids_and_links_from_the_cli(daemon: Daemon) -> None:
    stored = ok(daemon, "remember", "Deploys go through Jenkins")
    assert re.fullmatch(r"Stored [0-9a-f-]{36} \(#\d+\) in facts\n", stored), stored
    old = stored.split()[1]
    new = json.loads(ok(daemon, "--json", "remember", "Deploys go through Argo CD now"))["id"]
    listed = json.loads(ok(daemon, "--json", "list"))["memories"]
    nums = {m["id"]: m["num"] for m in listed}
    # `memory show 42`: the number of the list's # column.
    assert ok(daemon, "show", str(nums[old])).splitlines()[0] == "Deploys go through Jenkins"
    out = ok(daemon, "link", str(nums[new]), "supersedes", str(nums[old]))
    assert out.strip() == f"Linked {new} -supersedes-> {old}"
    assert f"supersedes         {old}" in ok(daemon, "show", str(nums[new]))
    assert ok(daemon, "links", str(nums[old])).strip() == f"<-supersedes- {new}"
    table = ok(daemon, "recall", "deploys", "go", "through").splitlines()
    assert [line.split()[0] for line in table[1:3]] == [str(nums[new]), str(nums[old])]
    assert ok(daemon, "unlink", new, "supersedes", old).startswith("Unlinked")
    again = memory(daemon, "unlink", new, "supersedes", old)
    assert again.returncode == 1 and "no supersedes link" in again.stderr
    for bad in ("0", "-1", "1e309", "99999999999999999999"):
        done = memory(daemon, "show", bad)
        assert done.returncode == 1 and "Traceback" not in done.stderr, bad
    assert "short integer id" in memory(daemon, "show", "--help").stdout
