"""A write the daemon does not answer in time may still land (issue 17, defect 11): the shim
says so, and never "try again", which would have the model store it twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.shim.helpers import mute_socket, shim, stop_daemons
from tests.support import short_tmpdir

QUICK = {"MEMORY_SHIM_START_TIMEOUT": "1"}  # the shim waits 1 + 2 - 0.5 s for an answer


@pytest.fixture
def mute_socket_home() -> Iterator[Path]:
    """A home whose socket accepts connections and never replies, as a busy daemon would."""
    home = short_tmpdir()
    try:
        with mute_socket(home):
            yield home
    finally:
        stop_daemons(home)


async def test_a_store_without_an_answer_may_have_been_stored(mute_socket_home: Path) -> None:
    async with shim(mute_socket_home, **QUICK) as client:
        stored = await client.call_tool(
            "memory_store", {"content": "the CI runs on hal", "expanded_keywords": "ci hal"}
        )
        counted = await client.call_tool("memory_count", {})
    assert stored.is_error
    text = stored.content[0].text  # type: ignore[union-attr]
    assert "did not answer within 2.5 s" in text and "may have been stored" in text, text
    assert "try again" not in text and "never stored twice" in text, text
    # A read is safe to repeat and still says so.
    assert counted.is_error
    assert "try again" in counted.content[0].text  # type: ignore[union-attr]
