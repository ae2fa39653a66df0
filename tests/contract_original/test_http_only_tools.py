"""The original's stdio MCP tools in HTTP-only mode against memory-hub: each sends what it sends
and reads the answer as it does, so a missing field or a changed type fails here as a KeyError
or a wrong printed line would fail its users.

memory_count makes no request in HTTP-only mode (it prints "No storage available"); in hybrid
mode it reads the local cache (test_hybrid_sync.py). The six sharing tools are the share
helper's routes (see docs/hub.md, "Migrating from claude-memory-mcp")."""

from __future__ import annotations

import re

import pytest

from tests.contract_original.client import ApiError, HttpOnlyTools, OriginalApi
from tests.hubs import KEYS
from tests.support import HubServer

STORED = re.compile(r"^Stored memory #(\d+) in category '([a-z-]+)' with importance (\d\.\d)$")


def test_store_recall_list_update_delete_as_its_tools_print_them(tools: HttpOnlyTools) -> None:
    printed = tools.memory_store(
        "Docker on the NAS needs the socket mounted read-only",
        "container daemon storage synology permissions",
        category="gotcha",  # a drift twin: folded as the original folds it
        tags="docker,nas",
        importance=0.8,
    )
    found = STORED.match(printed)
    assert found is not None, printed
    memory_id = int(found.group(1))
    assert (found.group(2), found.group(3)) == ("gotchas", "0.8")
    tools.memory_store("The CI runners live in eu-west-1", "aws region ireland", "infrastructure")

    recalled = tools.memory_recall("docker socket", "container mount permission nas storage")
    assert recalled.startswith("Found 1 memories (by relevance):"), recalled
    assert f"#{memory_id} [gotchas] (importance: 0.8) Docker on the NAS" in recalled
    assert "Tags: docker,nas | Stored: " in recalled

    listed = tools.memory_list()
    assert listed.startswith("Recent memories (2 shown):"), listed
    assert "[infrastructure] The CI runners live in eu-west-1" in listed
    assert "Tags: docker,nas" in listed
    assert tools.memory_list(category="infrastructure").startswith("Recent memories (1 shown)")

    assert tools.memory_update(memory_id, tags="docker,nas,ops", importance=0.9) == (
        f"Updated memory #{memory_id}"
    )
    assert "Importance: 0.9 | Tags: docker,nas,ops" in tools.memory_list()

    preview = "Docker on the NAS needs the socket mounted read-only"[:50]  # as its server cuts
    assert tools.memory_delete(memory_id) == f"Deleted memory #{memory_id}: {preview}..."
    # Its sync counts a 404 on delete as done; the hub says "already deleted" with a 200.
    assert tools.memory_delete(memory_id).endswith(": [already deleted]...")
    assert "Docker" not in tools.memory_list()


def test_secret_get_prints_id_category_and_content(tools: HttpOnlyTools) -> None:
    printed = tools.memory_store(
        "The NAS admin password=correct-horse-battery-staple", "credentials login", "infra"
    )
    memory_id = int(printed.split("#")[1].split(" ")[0])
    listed = tools.memory_list()
    assert f"[SENSITIVE - use secret_get(id={memory_id})]" in listed  # the id its tool takes
    assert tools.secret_get(memory_id) == (
        f"#{memory_id} [infrastructure] The NAS admin password=correct-horse-battery-staple"
    )
    plain = int(tools.memory_store("Lunch is at noon", "food schedule").split("#")[1].split()[0])
    assert tools.secret_get(plain) == f"#{plain} [facts] Lunch is at noon"


def test_errors_read_as_its_client_reads_them(tools: HttpOnlyTools, api: OriginalApi) -> None:
    for call in (
        lambda: tools.memory_delete(999),
        lambda: tools.secret_get(999),
        lambda: tools.memory_update(999, importance=0.2),
    ):
        with pytest.raises(ApiError) as missing:
            call()
        assert missing.value.status == 404
    with pytest.raises(ApiError) as refused:
        tools.memory_store("x", "y", category="recipes")
    assert refused.value.status == 422 and "recipes" in str(refused.value)
    assert "post-mortems" in str(refused.value)  # the allowed set is named
    with pytest.raises(ApiError) as too_long:
        api.call("POST", "/api/memories", {"content": "x" * 1401})
    assert too_long.value.status == 422


def test_each_user_sees_and_changes_only_their_own(
    hub_server: HubServer, tools: HttpOnlyTools
) -> None:
    alices = int(tools.memory_store("alice's note", "private").split("#")[1].split()[0])
    bob = HttpOnlyTools(OriginalApi(hub_server.url, KEYS["bob"]))
    bobs = int(bob.memory_store("bob's note", "private").split("#")[1].split()[0])
    assert alices == bobs == 1  # integer ids are per user
    assert "bob's" not in tools.memory_list() and "alice's" not in bob.memory_list()
    assert bob.memory_delete(1).startswith("Deleted memory #1: bob's note")
    assert "alice's note" in tools.memory_list()
