"""The original's six sharing tools (HTTP-only and hybrid mode alike: they always call the
server) against memory-hub, as they send their requests and read the answers: a missing field
would be a KeyError in its tool, a changed one a wrong printed line.

What each tool sends and reads is restated here from its contract in our own words (its
request, the fields its printed line takes), in the manner of tests/contract_original/client.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.contract_original.client import ApiError, HttpOnlyTools, OriginalApi
from tests.hubs import KEYS
from tests.support import HubServer


@dataclass
class SharingTools:
    api: OriginalApi

    def memory_share(self, memory_id: Any, shared_with: str, permission: str = "read") -> str:
        body = {"shared_with": shared_with, "permission": permission}
        out = self.api.call("POST", f"/api/memories/{memory_id}/share", body)
        return (
            f"Shared memory #{out['shared']} with {out['with']} (permission: {out['permission']})"
        )

    def memory_unshare(self, memory_id: Any, shared_with: str) -> str:
        out = self.api.call("DELETE", f"/api/memories/{memory_id}/share/{shared_with}")
        return f"Revoked sharing of memory #{out['unshared']} from {out['from']}"

    def memory_share_tag(self, tag: str, shared_with: str, permission: str = "read") -> str:
        body = {"tag": tag, "shared_with": shared_with, "permission": permission}
        out = self.api.call("POST", "/api/memories/share-tag", body)
        return (
            f"Shared tag '{out['shared_tag']}' with {out['with']} (permission: {out['permission']})"
        )

    def memory_unshare_tag(self, tag: str, shared_with: str) -> str:
        self.api.call("DELETE", "/api/memories/share-tag", {"tag": tag, "shared_with": shared_with})
        return f"Revoked tag sharing of '{tag}' from {shared_with}"

    def memory_shared_with_me(self) -> str:
        memories = self.api.call("GET", "/api/memories/shared-with-me").get("memories", [])
        if not memories:
            return "No memories have been shared with you"
        blocks = [
            f"#{m['id']} [{m['category']}] (from: {m['shared_by']}, {m['permission']}) "
            f"{m['content']}\n  Tags: {m.get('tags') or 'none'}"
            for m in memories
        ]
        return f"Memories shared with you ({len(memories)}):\n\n" + "\n\n".join(blocks)

    def memory_my_shares(self) -> str:
        out = self.api.call("GET", "/api/memories/my-shares")
        lines = [
            f"  #{s['memory_id']} -> {s['shared_with']} ({s['permission']}): {s['preview']}"
            for s in out.get("memory_shares", [])
        ]
        lines += [
            f"  tag '{s['tag']}' -> {s['shared_with']} ({s['permission']})"
            for s in out.get("tag_shares", [])
        ]
        return "\n".join(lines) if lines else "You haven't shared any memories or tags"


def test_the_six_sharing_tools_as_they_print(hub_server: HubServer) -> None:
    alice_api = OriginalApi(hub_server.url, KEYS["alice"])
    bob_api = OriginalApi(hub_server.url, KEYS["bob"])
    alice, bob = SharingTools(alice_api), SharingTools(bob_api)
    printed = HttpOnlyTools(alice_api).memory_store(
        "The on-call rota lives in the ops wiki", "pager schedule rotation duty", tags="ops,oncall"
    )
    num = int(printed.split("#")[1].split()[0])

    assert alice.memory_share(num, "bob", "write") == (
        f"Shared memory #{num} with bob (permission: write)"
    )
    assert alice.memory_my_shares() == (
        f"  #{num} -> bob (write): The on-call rota lives in the ops wiki"
    )
    seen = bob.memory_shared_with_me()
    assert seen.startswith("Memories shared with you (1):\n\n#"), seen
    assert "[facts] (from: alice, write) The on-call rota lives in the ops wiki" in seen
    assert "Tags: ops,oncall" in seen  # the comma text the original stores
    shared_id = seen.split("#")[1].split()[0]  # bob names it as he sees it: its UUID
    bob_tools = HttpOnlyTools(bob_api)
    assert bob_tools.memory_update(shared_id, content="The rota is in the SRE wiki") == (
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
