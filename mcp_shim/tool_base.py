"""What every tool of the shim shares: the session's state (the daemon link the lifespan
owns), the id argument, and the result shape (structured content beside the text the model
reads)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from mcp_shim.link import DaemonLink
from mcp_shim.quick_post import KeptConnection
from memory_core.clock import Clock, SystemClock
from memory_core.hook_settings import DEFAULT_BUDGET, DEFAULT_TIMEOUT


def _id_text(value: object) -> object:
    """A short integer id sent as a JSON number (the original's tools declare ids as
    integers) is taken as its text; `true` is not memory 1."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _memory_id(value: str) -> str:
    """An id fit for a URL path (the daemon checks the rest). A control character used to
    fail the call with a bare "Error executing tool" (httpx refuses it in a URL): it is now an
    argument error naming `id`, like any other."""
    text = value.strip()
    if not text or text in (".", "..") or any(c in "/?#%" or not c.isprintable() for c in text):
        raise PydanticCustomError(
            "memory_id",
            "{value} is not a memory id (a UUID or a unique prefix of it, or a short integer "
            "id, as recall shows)",
            {"value": repr(value)},
        )
    return text


Id = Annotated[
    str,
    Field(
        description="The memory's id as recall shows it: a UUID (or a unique prefix of it) "
        "or its short integer id.",
        min_length=1,
        max_length=64,
    ),
    BeforeValidator(_id_text),
    AfterValidator(_memory_id),
]


@dataclass
class ShimState:
    """What the lifespan owns: the daemon link, or why there is none."""

    link: DaemonLink | None
    project: str | None
    config_error: str | None = None
    clock: Clock = field(default_factory=SystemClock)  # for the ages recall shows
    # The prompt hook's settings (memory_core.hook_settings), read once: the shim's
    # environment is the session's, as a command hook's would be.
    hook_budget: int = DEFAULT_BUDGET
    hook_timeout: float = DEFAULT_TIMEOUT
    # The prompt hook's own connection to memoryd, kept across prompts (quick_post).
    prompt_connection: KeptConnection | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.link is not None:
            self.prompt_connection = KeptConnection(self.link.socket_path)

    @property
    def prompt_path(self) -> str:
        return f"/api/hooks/prompt?budget={self.hook_budget}"

    def require(self) -> DaemonLink:
        if self.link is None:
            raise ToolError(f"memory is not configured: {self.config_error}")
        return self.link


ShimContext = Context[ShimState, Any]


def result(structured: dict[str, Any], text: str) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=structured
    )


def state_of(ctx: ShimContext) -> ShimState:
    state: ShimState = ctx.request_context.lifespan_context
    return state
