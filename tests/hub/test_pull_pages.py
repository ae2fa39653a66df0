"""Pull pages (issue 20): cut by bytes, and without the puller's own ops."""

from __future__ import annotations

from typing import Any

from memory_core.ids import uuid7
from memory_core.wire.sync import MAX_PULL_BYTES, PULL_PATH, PUSH_PATH
from tests.conftest import FakeClock
from tests.hub.ops import put, replica
from tests.hubs import HubHarness


async def _push(hub: HubHarness[FakeClock], rep: str, ops: list[dict[str, Any]]) -> None:
    answer = await hub.client("alice").post(PUSH_PATH, json={"replica_id": rep, "ops": ops})
    assert answer.status_code == 200, answer.text


async def _pull(hub: HubHarness[FakeClock], **params: Any) -> dict[str, Any]:
    answer = await hub.client("alice").get(PULL_PATH, params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_page_of_long_memories_is_cut_after_its_bytes(hub: HubHarness[FakeClock]) -> None:
    rep, hlc = replica(), hub.clock.ms << 16
    text = "long " * 12_000  # 60,000 bytes: 70 of them pass MAX_PULL_BYTES
    count = MAX_PULL_BYTES // len(text) + 10
    ops = [put(rep, n + 1, uuid7(), hlc + n, content=text) for n in range(count)]
    for first in range(0, count, 40):
        await _push(hub, rep, ops[first : first + 40])
    page = await _pull(hub, after=0, limit=1000)
    taken = len(page["ops"])
    assert MAX_PULL_BYTES // len(text) <= taken < count  # cut after the op that passes it
    assert page["has_more"] is True and page["next_after"] == taken
    rest = await _pull(hub, after=page["next_after"], limit=1000)
    assert len(rest["ops"]) == count - taken and rest["has_more"] is False


async def test_the_pullers_own_ops_are_left_out_and_the_cursor_moves_past_them(
    hub: HubHarness[FakeClock],
) -> None:
    mine, other, hlc = replica(), replica(), hub.clock.ms << 16
    await _push(hub, mine, [put(mine, n, uuid7(), hlc + n, content=f"mine {n}") for n in (1, 2, 3)])
    await _push(hub, other, [put(other, 1, uuid7(), hlc + 9, content="theirs")])
    await _push(hub, mine, [put(mine, 4, uuid7(), hlc + 10, content="mine 4")])
    own = {"replica_id": mine, "replica_seq_below": 4}

    page = await _pull(hub, after=0, limit=2, **own)  # two of its own: nothing to send
    assert page["ops"] == [] and page["has_more"] is True and page["next_after"] == 2
    page = await _pull(hub, after=2, limit=10, **own)
    # Its op 4 is above what it said it holds (a database restored from a backup): sent.
    assert [o["fields"]["content"] for o in page["ops"]] == ["theirs", "mine 4"]
    assert page["has_more"] is False and page["next_after"] == 5
    everything = await _pull(hub, after=0, limit=10)  # without `replica_id`: every op
    assert len(everything["ops"]) == 5

    bad = await hub.client("alice").get(PULL_PATH, params={"after": 0, "replica_id": "nope"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"
