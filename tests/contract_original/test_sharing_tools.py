"""The original's six sharing tools (HTTP-only and hybrid mode alike: they always call the
server; tests/contract_original/client.py, HttpOnlyTools) against memory-hub, as they send
their requests and read the answers: a missing field would be a KeyError in its tool, a
changed one a wrong printed line."""

from __future__ import annotations

import pytest

from tests.contract_original.client import ApiError, HttpOnlyTools, OriginalApi
from tests.hubs import KEYS
from tests.support import HubServer


def test_the_six_sharing_tools_as_they_print(hub_server: HubServer) -> None:
    alice_api = OriginalApi(hub_server.url, KEYS["alice"])
    bob_api = OriginalApi(hub_server.url, KEYS["bob"])
    alice, bob = HttpOnlyTools(alice_api), HttpOnlyTools(bob_api)
    printed = alice.memory_store(
        "The on-call rota lives in the ops wiki", "pager schedule rotation duty", tags="ops,oncall"
    )
    num = int(printed.split("#")[1].split()[0])

    assert alice.memory_share(num, "bob", "write") == (
        f"Shared memory #{num} with bob (permission: write)"
    )
    assert alice.memory_my_shares() == (
        f"Memory shares (1):\n  #{num} -> bob (write): The on-call rota lives in the ops wiki"
    )
    seen = bob.memory_shared_with_me()
    assert seen.startswith("Memories shared with you (1):\n\n#"), seen
    assert "[facts] (from: alice, write) The on-call rota lives in the ops wiki" in seen
    assert "Tags: ops,oncall" in seen  # the comma text the original stores
    shared_id = seen.split("#")[1].split()[0]  # bob names it as he sees it: its UUID
    assert bob.memory_update(shared_id, content="The rota is in the SRE wiki") == (
        f"Updated memory #{shared_id}"
    )
    assert "The rota is in the SRE wiki" in alice.memory_my_shares()

    assert alice.memory_share_tag("ops", "bob") == "Shared tag 'ops' with bob (permission: read)"
    assert "  tag 'ops' -> bob (read)" in alice.memory_my_shares()
    assert alice.memory_unshare_tag("ops", "bob") == "Revoked tag sharing of 'ops' from bob"
    assert alice.memory_unshare(num, "bob") == f"Revoked sharing of memory #{num} from bob"
    assert bob.memory_shared_with_me() == "No memories have been shared with you"
    assert alice.memory_my_shares() == "You haven't shared any memories or tags"
    assert alice_api.call("GET", "/api/users") == {"users": []}

    # Its errors: the status and the hub's message, as its ApiError prints them.
    for call, status, words in (
        (lambda: alice.memory_share(num, "alice"), 400, "yourself"),
        (lambda: alice.memory_share(num, "mallory"), 404, "no user 'mallory'"),
        (lambda: bob.memory_share(num, "alice"), 404, "no memory with id"),
    ):
        with pytest.raises(ApiError) as caught:
            call()
        assert caught.value.status == status and words in str(caught.value), str(caught.value)
