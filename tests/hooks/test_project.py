"""The project of a hook event's working directory (memoryd.sessions.project): the git
repository's name, else the directory's; None where the text names no directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from memoryd.sessions.project import project_for
from tests.support import running_daemon


def test_the_repository_above_names_the_project(tmp_path: Path) -> None:
    src = tmp_path / "shopfront" / "src" / "api"
    src.mkdir(parents=True)
    (tmp_path / "shopfront" / ".git").mkdir()
    assert project_for(str(src)) == "shopfront"
    assert project_for(f"{src}/../..//") == "shopfront"
    os.symlink(src, tmp_path / "link")
    assert project_for(str(tmp_path / "link")) == "shopfront"  # resolved first
    assert project_for(str(tmp_path / "shopfront" / ".git")) == "shopfront"


def test_outside_a_repository_the_directory_names_it(tmp_path: Path) -> None:
    assert project_for(str(tmp_path / "notes")) == "notes"  # gone, or not made yet
    assert project_for(str(tmp_path / "notes" / "x" / "..")) == "notes"
    assert project_for("/") is None
    assert project_for("relative/dir") is None
    assert project_for(None) is None and project_for("") is None


def test_text_that_names_no_directory_is_no_project(tmp_path: Path) -> None:
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    assert project_for(str(tmp_path / "a")) is None  # a symlink loop
    assert project_for(str(tmp_path / "a" / "x")) is None
    assert project_for("/tmp/a\x00b") is None
    assert project_for("/tmp/" + "x" * 300) is None  # no file name is that long


@pytest.mark.parametrize("event", ["prompt", "session-start", "pre-compact", "stop"])
def test_hooks_answer_an_event_whose_cwd_names_no_directory(tmp_path: Path, event: str) -> None:
    """Such a cwd was a 500 (a NUL byte, a symlink loop reached the daemon's path code)."""
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    with running_daemon(MEMORY_AUTO_LEARN="0") as daemon:
        client = daemon.client()
        for cwd in ("/tmp/a\x00b", str(tmp_path / "a"), "/tmp/" + "x" * 300):
            body = {"session_id": "s", "prompt": "how do we deploy the billing api?", "cwd": cwd}
            answer = client.post(f"/api/hooks/{event}", json=body)
            assert answer.status_code in (200, 202, 204), answer.text
