"""The shim's frame screen finds the id of a request line the SDK cannot read, and only then."""

from __future__ import annotations

import json

import pytest

from mcp_shim.framing import frame_problem, request_id

CALL = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"x":'


def test_a_readable_frame_has_no_problem() -> None:
    line = json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}})
    assert frame_problem(line) is None


@pytest.mark.parametrize(
    "line",
    [
        CALL + "[" * 5000 + "]" * 5000 + "}}",
        CALL + '"\\ud83d"}}',
        CALL + "9" * 5000 + "}}",
    ],
)
def test_an_unreadable_request_is_found_with_its_id(line: str) -> None:
    assert frame_problem(line) is not None
    assert request_id(line) == 7


def test_the_id_is_the_outer_one_even_after_the_params() -> None:
    line = '{"jsonrpc":"2.0","method":"tools/call","params":{"id":99,"a":"\\"id\\":5"},"id":"r-1"}'
    assert request_id(line) == "r-1"


@pytest.mark.parametrize(
    "line",
    [
        '{"jsonrpc":"2.0","method":"notifications/initialized"}',  # a notification: no answer
        '{"jsonrpc":"2.0","id":true,"method":"x"}',
        '{"jsonrpc":"2.0","id":{"a":1},"method":"x"}',
        '{"jsonrpc":"2.0","id":' + "9" * 30 + ',"method":"x"}',
        '"id": 4',
        "not json at all",
    ],
)
def test_no_answerable_id_means_none(line: str) -> None:
    assert request_id(line) is None
