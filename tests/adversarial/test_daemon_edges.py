"""The inputs the fuzz found that gave the daemon a 500 or worse, each pinned as a plain request:
numbers that str.isdigit() takes and int() refuses or cannot read, a handover request that is
not one, a prompt cut in the middle of an emoji, and transcript paths in a Stop event that hung
or jammed auto-learn (a FIFO blocked the event loop for good; a NUL in the path kept the
queue retrying the same session forever, so no later session was ever learned)."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.adversarial.daemons import OFFLINE_LEARNING, LoggedDaemon, logged_daemon
from tests.support import short_tmpdir, wait_until

J = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def daemon() -> Iterator[LoggedDaemon]:
    with logged_daemon(**OFFLINE_LEARNING) as running:
        stored = running.client().post(
            "/api/memories", json={"content": "The staging cluster is eu-west-1"}
        )
        assert stored.status_code == 201
        yield running


def _clean_4xx(response: httpx.Response, status: int = 422) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]
    return str(error["message"])


@pytest.mark.parametrize("limit", ["\u00b2", "9" * 5000, "0", "1001", "-1"])
def test_learned_limit_that_is_not_one_to_1000_is_a_422(daemon: LoggedDaemon, limit: str) -> None:
    answer = daemon.client().get("/api/learn/learned", params={"limit": limit})
    assert "between 1 and 1000" in _clean_4xx(answer)


@pytest.mark.parametrize("entry", ["%C2%B2", "%D9%A1", "9" * 30, "9" * 5000])
def test_undo_of_what_is_no_entry_number_is_a_422(daemon: LoggedDaemon, entry: str) -> None:
    answer = daemon.client().post(f"/api/learn/learned/{entry}/undo")
    assert "is not an entry number" in _clean_4xx(answer)


def test_undo_of_an_entry_that_does_not_exist_is_a_404(daemon: LoggedDaemon) -> None:
    _clean_4xx(daemon.client().post(f"/api/learn/learned/{2**63 - 1}/undo"), 404)


@pytest.mark.parametrize("budget", ["\u00b2", "9" * 5000, "-5", "x"])
def test_any_hook_budget_is_read_or_ignored(daemon: LoggedDaemon, budget: str) -> None:
    event = {"session_id": "edge", "prompt": "where does the staging cluster run", "cwd": "/"}
    answer = daemon.client().post("/api/hooks/prompt", params={"budget": budget}, json=event)
    assert answer.status_code in (200, 204), answer.text


@pytest.mark.parametrize(
    "body",
    [
        b'{"version": "0.0.1", "protocol": 1e400}',
        b'{"version": "' + b"9" * 5000 + b'", "protocol": 1}',
        b'{"version": "\\ud800", "protocol": 1}',
        b'{"version": "0.0.1", "protocol": -' + b"9" * 4000 + b"}",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=[
        "protocol-1e400",
        "version-5000-digits",
        "version-surrogate",
        "protocol-4000-digits",
        "deep",
    ],
)
def test_a_handover_that_is_not_one_is_refused_and_the_daemon_stays(
    daemon: LoggedDaemon, body: bytes
) -> None:
    answer = daemon.client().post("/api/admin/handover", content=body, headers=J)
    assert answer.status_code in (400, 409), answer.text
    assert answer.json()["error"]["message"]
    assert daemon.client().get("/health").status_code == 200


def test_a_prompt_cut_inside_an_emoji_is_recalled_for_not_refused(daemon: LoggedDaemon) -> None:
    event = b'{"session_id": "emoji", "prompt": "where does the staging cluster run \\ud83d"}'
    answer = daemon.client().post("/api/hooks/prompt", content=event, headers=J)
    assert answer.status_code == 200, answer.text
    assert "eu-west-1" in answer.json()["hookSpecificOutput"]["additionalContext"]


def _pending(db: Path, session: str) -> int | None:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT pending FROM learn_sessions WHERE session_id = ?", (session,)
        ).fetchone()
    finally:
        conn.close()
    return None if row is None else int(row[0])


def _stop(daemon: LoggedDaemon, session: str, transcript: str) -> None:
    event = {"session_id": session, "transcript_path": transcript, "cwd": "/"}
    body = json.dumps(event).encode()  # a NUL as \\u0000, as Claude Code's JSON would have it
    answer = daemon.client().post("/api/hooks/stop", content=body, headers=J)
    assert answer.status_code == 202 and answer.json()["queued"] is True, answer.text


def test_a_stop_naming_a_fifo_neither_hangs_the_daemon_nor_stalls_learning() -> None:
    fifo = short_tmpdir() / "transcript.jsonl"
    os.mkfifo(fifo)
    with logged_daemon(**OFFLINE_LEARNING) as daemon:
        try:
            _stop(daemon, "fifo", str(fifo))
            health = daemon.client(timeout=5).get("/health")  # the worker has read it by now
            assert health.status_code == 200
            wait_until(lambda: _pending(daemon.db, "fifo") == 0, 10, "the FIFO session judged")
        finally:
            with contextlib.suppress(OSError):  # a reader blocked on it gets its EOF
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.parametrize("transcript", ["/tmp/a\x00b.jsonl", "/", "/dev/null"])
def test_a_stop_naming_no_transcript_file_is_judged_and_done(
    daemon: LoggedDaemon, transcript: str
) -> None:
    session = f"nofile-{len(transcript)}-{transcript[-3:].strip(chr(0))}"
    _stop(daemon, session, transcript)
    wait_until(lambda: _pending(daemon.db, session) == 0, 10, f"session {session!r} judged")
