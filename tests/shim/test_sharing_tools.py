"""The sharing tools as Claude Code calls them: a real MCP client over stdio, the shim, a real
daemon, and behind it a real `memory-hub serve` on PostgreSQL (or no hub at all)."""

from __future__ import annotations

from typing import Any

from mcp import Client

from tests.hubs import KEYS
from tests.shim.helpers import shim
from tests.support import Daemon, HubServer, daemon_env, short_tmpdir

SHARING = {
    "memory_share",
    "memory_unshare",
    "memory_share_tag",
    "memory_unshare_tag",
    "memory_shared_with_me",
    "memory_my_shares",
}


def _text(result: Any) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


async def _call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, _text(result)
    assert result.structured_content is not None
    return result.structured_content


def _daemon(hub: HubServer, user: str, **extra: str) -> Daemon:
    home = short_tmpdir()
    env = daemon_env(home, MEMORY_API_KEY=KEYS[user], MEMORY_API_URL=hub.url, **extra)
    return Daemon(home, env).start()


async def test_without_a_hub_every_sharing_tool_says_what_to_set(daemon: Daemon) -> None:
    async with shim(daemon.home) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names >= SHARING
        stored = await _call(
            client, "memory_store", content="a local fact", expanded_keywords="a b c d e"
        )
        for tool, arguments in (
            ("memory_share", {"id": stored["id"], "shared_with": "bob"}),
            ("memory_unshare", {"id": stored["id"], "shared_with": "bob"}),
            ("memory_share_tag", {"tag": "x", "shared_with": "bob"}),
            ("memory_unshare_tag", {"tag": "x", "shared_with": "bob"}),
            ("memory_shared_with_me", {}),
            ("memory_my_shares", {}),
        ):
            result = await client.call_tool(tool, arguments)
            assert result.is_error, tool
            assert "sharing needs a hub" in _text(result) and "no_hub" in _text(result), tool


async def test_share_through_daemons_and_the_hub(hub_server: HubServer) -> None:
    # alice syncs (hybrid) but never on her own here, so her new memory is not on the hub
    # when she shares it: the daemon syncs once and sends the share again. bob's daemon is
    # HTTP-only: his recall is the hub's, which includes what is shared with him.
    alice = _daemon(hub_server, "alice", MEMORY_SYNC_INTERVAL="3600", MEMORY_SYNC_DEBOUNCE="3600")
    bob = _daemon(hub_server, "bob", MEMORY_SYNC_DISABLE="1")
    try:
        async with shim(alice.home) as mine, shim(bob.home) as his:
            stored = await _call(
                mine,
                "memory_store",
                content="The billing service deploys with blue-green on Fridays",
                expanded_keywords="release rollout schedule payments cutover",
                tags="ops",
            )
            memory_id = stored["id"]
            shared = await _call(
                mine, "memory_share", id=memory_id[:12], shared_with="bob", permission="write"
            )
            assert shared == {
                "shared": 1,  # alice's #1 on the hub
                "uuid": memory_id,
                "with": "bob",
                "permission": "write",
                "secret_get": False,
            }
            seen = await _call(his, "memory_shared_with_me")
            assert [(m["id"], m["owner"]) for m in seen["memories"]] == [(memory_id, "alice")]
            recalled = await _call(
                his,
                "memory_recall",
                context="billing deploys",
                expanded_query="release rollout schedule payments",
                detail="full",
            )
            assert [m["id"] for m in recalled["memories"]] == [memory_id]
            # Marked with its owner, in the answer and in the text the model reads; bob's own
            # memory is not.
            assert [m["shared_by"] for m in recalled["memories"]] == ["alice"]
            await _call(
                his,
                "memory_store",
                content="Bob's own note on billing deploys",
                expanded_keywords="release rollout schedule payments",
            )
            for tool, arguments in (
                ("memory_recall", {"context": "billing deploys", "expanded_query": "release"}),
                ("memory_list", {}),
            ):
                result = await his.call_tool(tool, arguments)
                lines = _text(result).splitlines()
                assert [line for line in lines if "[shared by alice]" in line], (tool, lines)
                assert not [line for line in lines if "Bob's own" in line and "shared" in line]
            listed = await _call(his, "memory_list")
            marks = {m["content"][:10]: m.get("shared_by") for m in listed["memories"]}
            assert marks == {"The billin": "alice", "Bob's own ": None}
            # bob writes (a write share), never deletes.
            updated = await his.call_tool(
                "memory_update", {"id": memory_id, "content": "Billing deploys on Thursdays"}
            )
            assert not updated.is_error, _text(updated)
            deleted = await his.call_tool("memory_delete", {"id": memory_id})
            assert deleted.is_error and "only its owner" in _text(deleted)

            tagged = await _call(mine, "memory_share_tag", tag="ops", shared_with="bob")
            assert tagged["shared_tag"] == "ops"
            shares = await _call(mine, "memory_my_shares")
            assert [s["uuid"] for s in shares["memory_shares"]] == [memory_id]
            assert [t["tag"] for t in shares["tag_shares"]] == ["ops"]

            # Bad input comes back as the tool's error, with the hub's words.
            to_self = await mine.call_tool(
                "memory_share", {"id": memory_id, "shared_with": "alice"}
            )
            assert to_self.is_error and "yourself" in _text(to_self)
            unknown = await mine.call_tool("memory_share_tag", {"tag": "x", "shared_with": "eve"})
            assert unknown.is_error and "no user 'eve'" in _text(unknown)
            foreign = await his.call_tool("memory_share", {"id": memory_id, "shared_with": "carol"})
            assert foreign.is_error and "no memory with id" in _text(foreign)

            await _call(mine, "memory_unshare_tag", tag="ops", shared_with="bob")
            gone = await _call(mine, "memory_unshare", id=memory_id, shared_with="bob")
            assert gone["removed"] is True
            assert (await _call(his, "memory_shared_with_me"))["memories"] == []
    finally:
        alice.stop()
        bob.stop()
