"""Recall that spends few tokens: compact previews by default, memory_get for full texts, over
a real MCP client session against a real daemon."""

from __future__ import annotations

import json
from pathlib import Path

from mcp_shim.compact import PREVIEW_CHARS
from mcp_shim.server import INSTRUCTIONS
from tests.shim.helpers import shim
from tests.support import Daemon

LONG = (
    "The Apollo deploy pipeline builds the container with Buildkit, pushes it to the "
    "eu-west-1 registry, runs the smoke tests against staging, and only then promotes "
    "the image tag to production through the Argo CD app of apps; rollbacks revert the tag."
)
CLAUDE_CODE_TOOL_CAP = 2048  # bytes Claude Code keeps of a tool description or instructions


async def test_recall_answers_previews_and_memory_get_the_full_texts(
    daemon: Daemon, project_dir: Path
) -> None:
    async with shim(daemon.home, cwd=project_dir) as client:
        ids = []
        for content, force in ((LONG, False), ("The Apollo deploy key is k-93xq-secret", True)):
            stored = await client.call_tool(
                "memory_store",
                {
                    "content": content,
                    "expanded_keywords": "deployment release ci cd pipeline",
                    "force_sensitive": force,
                },
            )
            assert stored.structured_content is not None, stored.content
            ids.append(stored.structured_content["id"])

        recalled = await client.call_tool(
            "memory_recall",
            {"context": "how do we deploy Apollo", "expanded_query": "release pipeline ci cd"},
        )
        assert not recalled.is_error, recalled.content
        assert recalled.structured_content is not None
        hits = recalled.structured_content["memories"]
        assert {h["id"] for h in hits} == set(ids)
        long_hit = next(h for h in hits if h["id"] == ids[0])
        assert set(long_hit) == {"id", "num", "preview", "category", "project", "age", "score"}
        assert len(long_hit["preview"]) <= PREVIEW_CHARS and long_hit["preview"].endswith("…")
        assert long_hit["project"] == "apollo-web" and long_hit["age"] == "0m"
        text = recalled.content[0].text  # type: ignore[union-attr]
        assert ids[0] in text and "rollbacks revert" not in text and "memory_get" in text
        assert "k-93xq" not in json.dumps(recalled.structured_content) + text

        full = await client.call_tool(
            "memory_recall",
            {"context": "how do we deploy Apollo", "expanded_query": "release", "detail": "full"},
        )
        assert full.structured_content is not None
        assert LONG in [m["content"] for m in full.structured_content["memories"]]

        unknown = "0190e0f0-0000-7000-8000-000000000000"
        got = await client.call_tool("memory_get", {"ids": [ids[0], unknown, ids[1], ids[0], "x"]})
        assert not got.is_error, got.content
        assert got.structured_content is not None
        memories = got.structured_content["memories"]
        assert [m["id"] for m in memories] == ids
        assert memories[0]["content"] == LONG
        # A sensitive memory shows its placeholder, as everywhere but secret_get.
        assert "k-93xq" not in memories[1]["content"] and memories[1]["is_sensitive"] is True
        assert got.structured_content["not_found"] == [unknown, "x"]
        got_text = got.content[0].text  # type: ignore[union-attr]
        assert LONG in got_text and f"Not found: {unknown}, x" in got_text

        empty = await client.call_tool("memory_get", {"ids": []})
        assert empty.is_error and "ids" in empty.content[0].text  # type: ignore[union-attr]


async def test_descriptions_and_instructions_fit_claude_codes_cap(daemon: Daemon) -> None:
    assert len(INSTRUCTIONS.encode()) < CLAUDE_CODE_TOOL_CAP
    async with shim(daemon.home) as client:
        tools = (await client.list_tools()).tools
    assert "memory_get" in {tool.name for tool in tools}
    for tool in tools:
        assert len((tool.description or "").encode()) < CLAUDE_CODE_TOOL_CAP, tool.name
