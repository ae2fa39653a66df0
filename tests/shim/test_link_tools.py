"""The link tools and short integer ids through a real MCP session over stdio, against a real
daemon: link, read, unlink, and `42` (as text or as a JSON number) wherever a tool takes an id."""

from __future__ import annotations

from typing import Any

from tests.shim.helpers import shim
from tests.support import Daemon


async def test_link_tools_and_short_ids(daemon: Daemon) -> None:
    async with shim(daemon.home) as client:

        async def call(tool: str, args: dict[str, Any]) -> dict[str, Any]:
            result = await client.call_tool(tool, args)
            assert not result.is_error, result.content
            assert result.structured_content is not None
            return result.structured_content

        words = "deploy release pipeline continuous delivery"
        old = await call(
            "memory_store",
            {
                "content": "Deploys of the kestrel app go through Jenkins",
                "expanded_keywords": words,
            },
        )
        new = await call(
            "memory_store",
            {
                "content": "Deploys of the kestrel app go through Argo CD",
                "expanded_keywords": words,
            },
        )
        recalled = await client.call_tool(
            "memory_recall", {"context": "kestrel deploys", "expanded_query": words}
        )
        assert recalled.structured_content is not None
        nums = {m["id"]: m["num"] for m in recalled.structured_content["memories"]}
        text = recalled.content[0].text  # type: ignore[union-attr]
        assert f"#{nums[new['id']]} {new['id']}" in text
        # A short id as a JSON number (the original's tools declare integers) or as text.
        linked = await call(
            "memory_link",
            {"id": nums[new["id"]], "target_id": str(nums[old["id"]]), "link_type": "supersedes"},
        )
        assert linked == {"src_id": new["id"], "dst_id": old["id"], "link_type": "supersedes"}
        links = await call("memory_links", {"id": old["id"]})
        assert links["links_in"] == [{"id": new["id"], "type": "supersedes"}]
        got = await call("memory_get", {"ids": [nums[old["id"]]]})
        assert got["memories"][0]["id"] == old["id"]
        await call(
            "memory_unlink",
            {"id": new["id"], "target_id": old["id"], "link_type": "supersedes"},
        )
        assert (await call("memory_links", {"id": old["id"]}))["links_in"] == []
        # Bad ids and types are one-line argument or daemon errors, never a crash.
        for args in (
            {"id": new["id"], "target_id": old["id"], "link_type": "related-to"},
            {"id": new["id"], "target_id": True, "link_type": "see-also"},
            {"id": "-1", "target_id": old["id"], "link_type": "see-also"},
            {"id": new["id"], "target_id": new["id"], "link_type": "see-also"},
        ):
            result = await client.call_tool("memory_link", args)
            assert result.is_error, args
