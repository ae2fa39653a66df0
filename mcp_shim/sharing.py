"""The original project's six sharing tools, each one request to memoryd, which forwards it
to its hub (memoryd.sharing). Listed always: a daemon without a hub answers each call with
an error saying what to set (409 no_hub), which the model reads as the tool's error."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from mcp.server import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from mcp_shim.tool_base import Id, ShimContext, ShimState, result, state_of
from memory_core.wire import sharing as wire

_PREVIEW = 200


def _user(value: str) -> str:
    """A user id fit for a URL path (the hub checks that the user exists)."""
    text = value.strip()
    if not text or any(c in "/?#%" or not c.isprintable() for c in text):
        raise PydanticCustomError(
            "user_id", "{value} is not a user id of the hub", {"value": repr(value)}
        )
    return text


User = Annotated[
    str,
    Field(
        description="The other user's id on the hub (their name in the hub's API_KEYS).",
        min_length=1,
        max_length=100,
    ),
    AfterValidator(_user),
]
Tag = Annotated[
    str, Field(description="The tag, as on your memories.", min_length=1, max_length=100)
]
Permission = Annotated[
    Literal["read", "write"],
    Field(description="read: they see it; write: they may also update it (never delete)."),
]
SecretGet = Annotated[
    bool,
    Field(
        description="Let them read a sensitive memory's value with secret_get (otherwise "
        "they see only its placeholder)."
    ),
]


def _grant(out: dict[str, Any]) -> str:
    return str(out["permission"]) + (", secret_get" if out.get("secret_get") else "")


def _shared_with_me(out: dict[str, Any]) -> str:
    memories = out["memories"]
    if not memories:
        return "Nobody shares any memory with you."
    lines = [f"{len(memories)} memories shared with you:"]
    for m in memories:
        content = " ".join(str(m["content"]).split())[:_PREVIEW]
        lines.append(f"- {m['id']} [{m['category']}] from {m['owner']} ({_grant(m)})")
        lines.append(f"  {content}")
    return "\n".join(lines)


def _my_shares(out: dict[str, Any]) -> str:
    lines = []
    for s in out["memory_shares"]:
        lines.append(f"- memory {s['memory_id']} with {s['shared_with']} ({_grant(s)}): ")
        lines[-1] += " ".join(str(s["preview"]).split())
    for t in out["tag_shares"]:
        lines.append(f"- tag {t['tag']!r} with {t['shared_with']} ({_grant(t)})")
    return "\n".join(["You share:", *lines]) if lines else "You share nothing."


def add_sharing_tools(server: MCPServer[ShimState]) -> None:
    grants = ToolAnnotations(
        read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    )
    revokes = ToolAnnotations(
        read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
    )
    reads = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(title="Share a memory", annotations=grants)
    async def memory_share(
        id: Id,
        shared_with: User,
        ctx: ShimContext,
        permission: Permission = "read",
        secret_get: SecretGet = False,
    ) -> Annotated[CallToolResult, wire.SharedOut]:
        """Share one of your memories with another user of the hub. Sharing again changes
        the permission. Needs a hub (memoryd with MEMORY_API_KEY)."""
        body = {"shared_with": shared_with, "permission": permission, "secret_get": secret_get}
        out = (
            await state_of(ctx)
            .require()
            .request("POST", f"/api/memories/{id}/share", write=True, json=body)
        )
        return result(out, f"Shared memory {out['shared']} with {out['with']} ({_grant(out)}).")

    @server.tool(title="Stop sharing a memory", annotations=revokes)
    async def memory_unshare(
        id: Id, shared_with: User, ctx: ShimContext
    ) -> Annotated[CallToolResult, wire.UnsharedOut]:
        """Stop sharing one of your memories with a user."""
        path = f"/api/memories/{id}/share/{quote(shared_with, safe='')}"
        out = await state_of(ctx).require().request("DELETE", path)
        done = "Stopped sharing" if out.get("removed") else "Was not sharing"
        return result(out, f"{done} memory {out['unshared']} with {out['from']}.")

    @server.tool(title="Share a tag", annotations=grants)
    async def memory_share_tag(
        tag: Tag,
        shared_with: User,
        ctx: ShimContext,
        permission: Permission = "read",
        secret_get: SecretGet = False,
    ) -> Annotated[CallToolResult, wire.SharedTagOut]:
        """Share every memory with this tag, now and later, with another user of the hub."""
        body = {
            "tag": tag,
            "shared_with": shared_with,
            "permission": permission,
            "secret_get": secret_get,
        }
        out = (
            await state_of(ctx)
            .require()
            .request("POST", "/api/memories/share-tag", write=True, json=body)
        )
        text = f"Shared tag {out['shared_tag']!r} with {out['with']} ({_grant(out)})."
        return result(out, text)

    @server.tool(title="Stop sharing a tag", annotations=revokes)
    async def memory_unshare_tag(
        tag: Tag, shared_with: User, ctx: ShimContext
    ) -> Annotated[CallToolResult, wire.UnsharedTagOut]:
        """Stop sharing a tag with a user."""
        body = {"tag": tag, "shared_with": shared_with}
        out = await state_of(ctx).require().request("DELETE", "/api/memories/share-tag", json=body)
        done = "Stopped sharing" if out.get("removed") else "Was not sharing"
        return result(out, f"{done} tag {out['unshared_tag']!r} with {out['from']}.")

    @server.tool(title="Memories shared with me", annotations=reads)
    async def memory_shared_with_me(
        ctx: ShimContext,
    ) -> Annotated[CallToolResult, wire.SharedWithMeOut]:
        """The memories other users share with you, each with its owner and permission."""
        answer = await state_of(ctx).require().request("GET", "/api/memories/shared-with-me")
        # The hub answers in the original's shape (tags as comma text, the UUID as `uuid`);
        # the tool's output is the typed one its schema declares.
        out = wire.SharedWithMeOut.model_validate(answer).model_dump(by_alias=True)
        return result(out, _shared_with_me(out))

    @server.tool(title="What I share", annotations=reads)
    async def memory_my_shares(ctx: ShimContext) -> Annotated[CallToolResult, wire.MySharesOut]:
        """The memories and tags you share, with whom and with which permission."""
        out = await state_of(ctx).require().request("GET", "/api/memories/my-shares")
        return result(out, _my_shares(out))
