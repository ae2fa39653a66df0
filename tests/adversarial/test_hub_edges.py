"""Inputs the fuzz found that gave the hub a 500, pinned as plain requests to the real app (in
process, on a real PostgreSQL database)."""

from __future__ import annotations

import json

from memory_core.wire import sync
from tests.conftest import FakeClock
from tests.hubs import running_hub


async def test_an_error_that_quotes_a_lone_surrogate_is_still_a_clean_4xx(hub_dsn: str) -> None:
    """The hub names the ops it refuses, and an op id is whatever the client sent: half an
    emoji cannot be written as UTF-8, and must not turn the 422 into a 500."""
    op = {"replica_id": "ab" * 16, "replica_seq": 1, "op_id": "x\ud83d", "entity_id": "0000",
          "hlc": 1, "kind": "del", "field_mask": []}  # fmt: skip
    body = json.dumps({"replica_id": "ab" * 16, "ops": [op]}).encode()
    async with running_hub(hub_dsn, FakeClock()) as hub:
        client = hub.client("alice")
        answer = await client.post(
            sync.PUSH_PATH, content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["code"] == "invalid_op" and error["op_ids"] == ["x?"]
        assert "x?" in error["message"]
        assert await hub.head() == 0
