"""Logs never hold what a user stored: a traceback keeps the exception types and frames and
leaves out the messages, which may quote the values that failed (memory_core/log_format.py)."""

from __future__ import annotations

import logging
import signal
import sqlite3

from memory_core.log_format import WITHHELD, ContentFreeFormatter, withheld_traceback
from tests.support import running_daemon, short_tmpdir

CANARY = "Canary4417-the-safe-code-is-1234"


def _parse(value: str) -> float:
    return float(value)


def _failing_chain() -> BaseException:
    try:
        try:
            _parse(CANARY)
        except ValueError as exc:
            raise RuntimeError(f"could not import {CANARY!r}") from exc
    except RuntimeError as outer:
        return outer
    raise AssertionError("unreachable")


def test_a_traceback_keeps_types_and_frames_and_drops_every_message() -> None:
    text = withheld_traceback(_failing_chain())
    assert CANARY not in text
    assert f"ValueError: {WITHHELD}" in text and f"RuntimeError: {WITHHELD}" in text
    assert "direct cause" in text and "in _parse" in text and "return float(value)" in text

    group = ExceptionGroup("several", [ValueError(CANARY), KeyError(CANARY)])
    grouped = withheld_traceback(group)
    assert CANARY not in grouped and f"KeyError: {WITHHELD}" in grouped


def test_the_formatter_ignores_a_full_traceback_another_handler_cached() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, None)
    exc = _failing_chain()
    record.exc_info = (type(exc), exc, exc.__traceback__)
    record.exc_text = f"Traceback ... ValueError: {CANARY}"  # a plain Formatter's cache
    out = ContentFreeFormatter("%(levelname)s %(message)s").format(record)
    assert out.startswith("ERROR failed\n") and CANARY not in out


def test_a_failure_on_stored_data_leaves_no_trace_of_it_in_the_daemon_log() -> None:
    """An original database whose importance column holds text: the row is refused (an
    uploaded original database skips and reports bad rows), and neither the answer nor the
    daemon's log holds the value."""
    source = short_tmpdir() / "original.db"
    conn = sqlite3.connect(source)
    conn.execute(
        "CREATE TABLE memories (id INTEGER PRIMARY KEY, content TEXT, category TEXT, "
        "tags TEXT, importance TEXT)"
    )
    conn.execute(
        "INSERT INTO memories (content, category, tags, importance) VALUES (?, 'facts', '', ?)",
        (f"content {CANARY}", CANARY),
    )
    conn.commit()
    conn.close()
    with running_daemon() as daemon:
        answer = daemon.client().post(
            "/api/memories/import",
            content=source.read_bytes(),
            headers={"content-type": "application/x-sqlite3"},
        )
        assert answer.status_code == 200 and CANARY not in answer.text
        report = answer.json()
        assert report["imported"] == 0 and [r["row"] for r in report["rejected"]] == [1]
        daemon.signal(signal.SIGTERM)
        assert daemon.proc is not None and daemon.proc.wait(20) == 0
        log = daemon.output()
    assert CANARY not in log
    if answer.status_code == 500:
        assert f"ValueError: {WITHHELD}" in log and "importer.py" in log
