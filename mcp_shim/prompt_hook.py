"""memory_prompt_context: the plugin's UserPromptSubmit hook, run by Claude Code as an
`mcp_tool` hook through the session's own shim (hooks/hooks.json), so that a prompt starts no
process. It forwards what the command hook (hooks/_memory_hook.py `prompt`) sends to memoryd's
/api/hooks/prompt and answers its hook JSON as the tool's text, which Claude Code reads like a
command hook's stdout.

Named `memory_…` like the other tools, so that the hooks' tool matchers and the auto-approve
list cover it should the model call it; `prompt_context` says what it answers: the context to
add to a prompt.

It fails open as the command hook does: daemon down, slow, erring or answering something else
→ the text `{}` (no error result: Claude Code shows a hook's error to the user) and one line
on stderr. It never starts the daemon or waits for one (the other tools do): a prompt must not
wait. Its CPU per call is what 8 sessions' prompts at once cost the machine on top of the
daemon, so it does the least: one request on a connection it keeps from one prompt to the next
(`quick_post`: written as bytes, the answer read by httptools), one parse of a small answer.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Annotated

import anyio
from mcp.server import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from mcp_shim import quick_post
from mcp_shim.tool_base import ShimContext, ShimState, state_of

log = logging.getLogger("mcp_shim.prompt_hook")

PROMPT_TOOL = "memory_prompt_context"
EVENT = "UserPromptSubmit"
NOTHING = "{}"  # what Claude Code reads as a hook that adds nothing
MAX_ID_CHARS = 200  # the daemon's limit on a session id


def _nothing(why: str) -> str:
    print(f"memoryd prompt hook: nothing injected: {why}", file=sys.stderr, flush=True)
    return NOTHING


def is_prompt_answer(answer: object) -> bool:
    """True when `answer` is exactly what memoryd answers for a prompt:
    {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": "<text>"}}.
    Claude Code acts on any field of a hook's JSON ("decision": "block" erases the prompt),
    so nothing else is passed on (hooks/_memory_hook.py checks the same)."""
    if not isinstance(answer, dict) or list(answer) != ["hookSpecificOutput"]:
        return False
    output = answer["hookSpecificOutput"]
    return (
        isinstance(output, dict)
        and sorted(output) == ["additionalContext", "hookEventName"]
        and output["hookEventName"] == EVENT
        and isinstance(output["additionalContext"], str)
    )


def add_prompt_hook_tool(server: MCPServer[ShimState]) -> None:
    reads = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(
        name=PROMPT_TOOL, title="Memories for a prompt (the prompt hook's)", annotations=reads
    )
    async def memory_prompt_context(
        ctx: ShimContext,
        prompt: Annotated[str, Field(description="The user's prompt.")] = "",
        session_id: Annotated[str, Field(description="Claude Code's session id.")] = "",
        cwd: Annotated[str, Field(description="The session's working directory.")] = "",
    ) -> CallToolResult:
        """memoryd's prompt hook: Claude Code calls this itself before each prompt, and the
        answer is hook JSON for Claude Code, not for you. To look memories up, use
        memory_recall."""
        text = await prompt_context(state_of(ctx), prompt, session_id, cwd)
        return CallToolResult(content=[TextContent(type="text", text=text)])


async def prompt_context(state: ShimState, prompt: str, session_id: str, cwd: str) -> str:
    """The tool's one text, whatever happens: the hook JSON, or NOTHING. The transport's fast
    path (fast_prompt.py) answers with it too."""
    started = time.perf_counter()
    try:
        text = await _answer(state, prompt, session_id, cwd)
    except Exception as exc:  # fail open, whatever happened: a hook error reaches the user
        text = _nothing(f"the hook failed ({type(exc).__name__})")
    # As the command hook's debug line (DEBUG_CLAUDE_MEMORY_HOOKS=1), never the prompt.
    log.debug(
        "prompt: %s in %.1f ms",
        "no output" if text == NOTHING else "answered",
        (time.perf_counter() - started) * 1000,
    )
    return text


async def _answer(state: ShimState, prompt: str, session_id: str, cwd: str) -> str:
    """The hook JSON to answer, or NOTHING."""
    if state.prompt_connection is None:
        return _nothing(f"memory is not configured: {state.config_error}")
    if not session_id or len(session_id) > MAX_ID_CHARS:
        return _nothing("no session id in the hook's input")
    event = {
        "hook_event_name": EVENT,
        "session_id": session_id,
        "cwd": cwd or None,
        "prompt": prompt,
    }
    try:
        with anyio.fail_after(state.hook_timeout):
            status, body = await state.prompt_connection.post(
                state.prompt_path, json.dumps(event).encode()
            )
    except (OSError, quick_post.BadAnswer) as exc:  # TimeoutError is an OSError
        return _nothing(f"memoryd did not answer ({type(exc).__name__}: {exc})")
    if status == 204:
        return NOTHING
    if status != 200:
        return _nothing(f"memoryd answered HTTP {status}")
    try:
        text = body.decode("utf-8")
        answer = json.loads(text)
    except ValueError:  # UnicodeDecodeError is one
        answer = None
    if not is_prompt_answer(answer):
        return _nothing("memoryd's answer is not the hook JSON expected")
    return text
