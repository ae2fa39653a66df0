"""The shim as Claude Code sees it: a real MCP client session over stdio, against a real daemon."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from mcp import Client
from mcp.types import CallToolResult

from tests.shim.helpers import raw_shim, shim, shim_env
from tests.shim.test_sharing_tools import SHARING
from tests.support import Daemon

TOOLS = {
    "memory_store",
    "memory_recall",
    "memory_get",
    "memory_list",
    "memory_count",
    "memory_update",
    "memory_delete",
    "secret_get",
    *SHARING,  # mcp_shim.sharing
    "memory_link",
    "memory_unlink",
    "memory_links",
    "memory_prompt_context",  # mcp_shim.prompt_hook
}


async def recall_full(client: Client, context: str, expanded_query: str) -> CallToolResult:
    """memory_recall asked for the memories' full texts; it must answer without an error."""
    recalled = await client.call_tool(
        "memory_recall", {"context": context, "expanded_query": expanded_query, "detail": "full"}
    )
    assert not recalled.is_error, recalled.content
    return recalled


async def test_tools_schemas_annotations_and_instructions(daemon: Daemon) -> None:
    async with shim(daemon.home) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        instructions = client.instructions or ""
    assert set(tools) == TOOLS
    assert 200 < len(instructions.encode()) < 2048
    assert "memory_recall" in instructions and "expanded_keywords" in instructions

    for name in ("memory_recall", "memory_get", "memory_list", "memory_count", "secret_get"):
        annotations = tools[name].annotations
        assert annotations is not None and annotations.read_only_hint is True, name
    delete = tools["memory_delete"].annotations
    assert delete is not None and delete.destructive_hint is True
    assert delete.read_only_hint is False
    store = tools["memory_store"].annotations
    assert store is not None and store.read_only_hint is False and not store.destructive_hint

    def schema(name: str) -> dict[str, object]:
        return tools[name].input_schema

    assert sorted(schema("memory_store")["required"]) == ["content", "expanded_keywords"]
    store_props = schema("memory_store")["properties"]
    assert isinstance(store_props, dict)
    assert set(store_props) == {
        "content",
        "expanded_keywords",
        "category",
        "tags",
        "importance",
        "force_sensitive",
        "project",
        "supersedes",
    }
    assert store_props["importance"]["maximum"] == 1.0
    assert sorted(schema("memory_recall")["required"]) == ["context", "expanded_query"]
    recall_props = schema("memory_recall")["properties"]
    assert isinstance(recall_props, dict)
    assert recall_props["sort_by"]["enum"] == ["relevance", "importance", "recency"]
    for name in ("memory_update", "memory_delete", "secret_get"):
        assert schema(name)["required"] == ["id"], name
    assert "required" not in schema("memory_count") or not schema("memory_count")["required"]
    for name, tool in tools.items():
        assert tool.description and len(tool.description) < 400, name
        # The prompt hook's answer is its text, hook JSON for Claude Code: no structured copy.
        assert (tool.output_schema is None) == (name == "memory_prompt_context"), name
        assert "ctx" not in json.dumps(tool.input_schema), name


async def test_store_recall_update_delete_secret_round_trip(
    daemon: Daemon, project_dir: Path
) -> None:
    async with shim(daemon.home, cwd=project_dir / "src" / "ui") as client:
        stored = await client.call_tool(
            "memory_store",
            {
                "content": "The Apollo dashboard uses SvelteKit with Tailwind",
                "category": "decision",
                "tags": "frontend,svelte",
                "importance": 0.8,
                "expanded_keywords": "javascript framework ui css styling web app",
            },
        )
        assert not stored.is_error, stored.content
        assert stored.structured_content is not None
        memory_id = stored.structured_content["id"]
        assert stored.structured_content["category"] == "decisions"
        assert memory_id in stored.content[0].text  # type: ignore[union-attr]

        recalled = await recall_full(client, "which UI framework", "frontend javascript css web")
        assert recalled.structured_content is not None
        hits = recalled.structured_content["memories"]
        assert [h["id"] for h in hits] == [memory_id]
        # The project comes from the git work tree around the session's directory.
        assert hits[0]["project"] == "apollo-web"
        assert hits[0]["tags"] == ["frontend", "svelte"]
        assert "SvelteKit" in recalled.content[0].text  # type: ignore[union-attr]

        updated = await client.call_tool(
            "memory_update",
            {"id": memory_id[:13], "content": "The Apollo dashboard uses SvelteKit with UnoCSS"},
        )
        assert not updated.is_error, updated.content
        assert updated.structured_content is not None
        assert updated.structured_content["memory"]["content"].endswith("UnoCSS")
        assert updated.structured_content["memory"]["importance"] == 0.8

        listed = await client.call_tool("memory_list", {"category": "decisions"})
        assert listed.structured_content is not None
        assert [m["content"] for m in listed.structured_content["memories"]] == [
            "The Apollo dashboard uses SvelteKit with UnoCSS"
        ]

        secret = await client.call_tool(
            "memory_store",
            {
                "content": "The staging database password is hunter2-correct-horse",
                "force_sensitive": True,
                "expanded_keywords": "credentials login postgres staging secret",
            },
        )
        assert secret.structured_content is not None
        assert secret.structured_content["is_sensitive"] is True
        secret_id = secret.structured_content["id"]
        masked = await recall_full(client, "staging database password", "credentials login")
        assert masked.structured_content is not None
        shown = [m for m in masked.structured_content["memories"] if m["id"] == secret_id]
        assert shown and "hunter2" not in json.dumps(masked.structured_content)
        assert "hunter2" not in masked.content[0].text  # type: ignore[union-attr]
        revealed = await client.call_tool("secret_get", {"id": secret_id})
        assert not revealed.is_error, revealed.content
        assert revealed.structured_content is not None
        assert "hunter2-correct-horse" in revealed.structured_content["content"]

        count = await client.call_tool("memory_count", {})
        assert count.structured_content is not None
        assert count.structured_content["total"] == 2
        assert count.structured_content["by_category"] == {"decisions": 1, "facts": 1}
        assert count.content[0].text.startswith("2 memories")  # type: ignore[union-attr]

        # A changed decision is stored with `supersedes`: it ranks first, the old one after.
        newer = await client.call_tool(
            "memory_store",
            {
                "content": "The Apollo dashboard moved from SvelteKit to Astro",
                "category": "decision",
                "expanded_keywords": "javascript framework ui web app migration",
                "supersedes": memory_id[:13],
            },
        )
        assert not newer.is_error, newer.content
        assert newer.structured_content is not None
        newer_id = newer.structured_content["id"]
        ranked = await recall_full(client, "which UI framework", "frontend javascript css web")
        assert ranked.structured_content is not None
        order = [m["id"] for m in ranked.structured_content["memories"]]
        assert order.index(newer_id) < order.index(memory_id)
        assert ranked.structured_content["memories"][0]["supersedes"] == memory_id
        assert (await client.call_tool("memory_delete", {"id": newer_id})).is_error is False

        deleted = await client.call_tool("memory_delete", {"id": memory_id})
        assert not deleted.is_error, deleted.content
        assert deleted.structured_content == {
            "deleted": memory_id,
            "preview": "The Apollo dashboard uses SvelteKit with UnoCSS",
        }
        after = await client.call_tool(
            "memory_recall",
            {"context": "which UI framework", "expanded_query": "frontend javascript css web"},
        )
        assert after.structured_content is not None
        assert memory_id not in [m["id"] for m in after.structured_content["memories"]]


async def test_bad_arguments_are_tool_errors_with_clear_messages(daemon: Daemon) -> None:
    async with shim(daemon.home) as client:

        async def error_of(tool: str, args: dict[str, object]) -> str:
            result = await client.call_tool(tool, args)
            assert result.is_error, (tool, args, result)
            text: str = result.content[0].text  # type: ignore[union-attr]
            return text

        text = await error_of(
            "memory_store", {"content": "x", "category": "gossip", "expanded_keywords": "a b"}
        )
        assert "unknown category 'gossip'" in text and "preferences" in text

        text = await error_of("memory_store", {"content": "y" * 1401, "expanded_keywords": "a"})
        assert "1401 characters" in text and "limit of 1400" in text and "Split" in text

        text = await error_of("memory_delete", {})
        assert text == "invalid arguments for memory_delete: missing required argument 'id'"

        text = await error_of("memory_recall", {"context": "x", "expanded_query": "y", "limit": 0})
        assert "'limit'" in text and "greater than or equal to 1" in text

        text = await error_of("memory_update", {"id": "01a20d4b-8483"})
        assert "nothing to update" in text

        text = await error_of("memory_update", {"id": "01a20d4b-8483", "importance": 0.3})
        assert "not_found" in text or "no memory" in text.lower()

        text = await error_of("secret_get", {"id": "../stats"})
        assert "not a memory id" in text

        # Control characters in an id: an argument error naming `id`, not "Error executing".
        other_args = {"secret_get": {}, "memory_delete": {}, "memory_update": {"importance": 0.3}}
        for tool, more in other_args.items():
            for bad in ("01a20d4b\n8483", "01a2\x00", "\x1b[31m01a20d4b", "01a20d4b\r\nX: 1"):
                text = await error_of(tool, {"id": bad, **more})
                assert text.startswith(f"invalid arguments for {tool}: 'id': "), text
                assert f"{bad!r} is not a memory id" in text
        text = await error_of(
            "memory_store",
            {
                "content": "CI runs on GitHub Actions",
                "expanded_keywords": "pipelines builds",
                "supersedes": "0000dead-beef-7000-8000-000000000000",
            },
        )
        assert "supersedes" in text and "no memory" in text

        # The failures stored nothing and did not break the session.
        count = await client.call_tool("memory_count", {})
        assert count.structured_content is not None and count.structured_content["total"] == 0


def test_stdout_carries_only_the_protocol(daemon: Daemon) -> None:
    """Raw JSON-RPC over the pipe, the 2025 handshake Claude Code 2.1.197 uses: every line the
    shim writes is a JSON-RPC message, even with debug logging on."""
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "memory_count", "arguments": {}},
        },
    ]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(daemon.home)}
    env.update(shim_env(daemon.home, DEBUG_CLAUDE_MEMORY_HOOKS="1"))
    proc = raw_shim(daemon.home, env, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    lines = []
    for message in messages:
        proc.stdin.write(json.dumps(message).encode() + b"\n")
        proc.stdin.flush()
        if "id" in message:
            lines.append(proc.stdout.readline())
    rest, err = proc.communicate(timeout=10)
    stderr = err.decode()
    replies = [json.loads(line) for line in lines]
    assert [r["id"] for r in replies] == [1, 2, 3]
    assert replies[0]["result"]["serverInfo"]["name"] == "memoryd"
    assert len(replies[1]["result"]["tools"]) == len(TOOLS)
    assert replies[2]["result"]["structuredContent"]["total"] == 0
    assert rest.strip() == b""
    assert "DEBUG" in stderr  # the debug logs went to stderr, not stdout
