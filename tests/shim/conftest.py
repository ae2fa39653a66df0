"""Fixtures of the shim tests: a real daemon, and a project's git work tree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Daemon, running_daemon, short_tmpdir


@pytest.fixture
def daemon() -> Iterator[Daemon]:
    with running_daemon() as running:
        yield running


@pytest.fixture
def project_dir() -> Path:
    """A git work tree named like a project, with the session starting in a subdirectory."""
    root = short_tmpdir() / "apollo-web"
    (root / ".git").mkdir(parents=True)
    (root / "src" / "ui").mkdir(parents=True)
    return root
