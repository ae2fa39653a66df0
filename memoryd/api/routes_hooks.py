"""Endpoints for the Claude Code hooks (hooks/memory_hook.py) and for auto-learn.

Each hook endpoint takes the event JSON Claude Code gave the hook (plus `budget`) and answers
`{"output": <the hook's stdout object, or null>, ...}`, so the hook only relays.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from memoryd.api.bodies import read_model
from memoryd.api.routes import services
from memoryd.errors import InvalidInput, Unavailable
from memoryd.learn.queue import LearningQueue
from memoryd.sessions.inject import DEFAULT_BUDGET, HookService, clamp_budget

Short = Annotated[str, StringConstraints(max_length=4096)]


class HookIn(BaseModel):
    """The subset of Claude Code's hook input that memoryd reads."""

    model_config = ConfigDict(extra="ignore")

    session_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    cwd: Short | None = None
    prompt: Annotated[str, StringConstraints(max_length=100_000)] = ""
    source: Short = "startup"
    transcript_path: Short = ""
    tool_name: Short = ""
    tool_response: Any = None
    budget: int = Field(default=DEFAULT_BUDGET)


def hook_service(request: Request) -> HookService:
    found = services(request).extras.get("hooks")
    if not isinstance(found, HookService):
        raise Unavailable("the hook service is not running")
    return found


def learning(request: Request) -> LearningQueue:
    found = services(request).extras.get("learning")
    if not isinstance(found, LearningQueue):
        raise Unavailable("the learning queue is not running")
    return found


def _context(event: str, text: str) -> dict[str, Any] | None:
    if not text:
        return None
    return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": text}}


async def on_prompt(request: Request) -> Response:
    body = await read_model(request, HookIn)
    text = await hook_service(request).on_prompt(
        body.session_id, body.prompt, body.cwd, clamp_budget(body.budget)
    )
    return JSONResponse({"output": _context("UserPromptSubmit", text)})


async def on_session_start(request: Request) -> Response:
    body = await read_model(request, HookIn)
    text = await hook_service(request).on_session_start(
        body.session_id, body.source, body.cwd, clamp_budget(body.budget)
    )
    return JSONResponse({"output": _context("SessionStart", text)})


async def on_pre_compact(request: Request) -> Response:
    body = await read_model(request, HookIn)
    saved = await hook_service(request).on_pre_compact(body.session_id, body.cwd)
    return JSONResponse({"output": None, "saved": saved})


async def on_tool_used(request: Request) -> Response:
    body = await read_model(request, HookIn)
    tracked = await hook_service(request).on_tool_used(
        body.session_id, body.tool_name, body.tool_response
    )
    return JSONResponse({"output": None, "tracked": tracked})


async def on_stop(request: Request) -> Response:
    body = await read_model(request, HookIn)
    queued = await learning(request).enqueue(body.session_id, body.transcript_path, body.cwd)
    return JSONResponse({"output": None, "queued": queued}, status_code=202)


async def learn_status(request: Request) -> Response:
    return JSONResponse(await learning(request).status())


async def learned(request: Request) -> Response:
    raw = request.query_params.get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise InvalidInput(f"limit must be an integer between 1 and 1000 (got {raw!r})")
    return JSONResponse({"learned": await learning(request).learned(int(raw))})


async def undo_learned(request: Request) -> Response:
    raw = request.path_params["entry"]
    if not raw.isdigit():
        raise InvalidInput(f"{raw!r} is not an entry number")
    return JSONResponse(await learning(request).undo(int(raw)))


HOOK_ROUTES = [
    Route("/api/hooks/prompt", on_prompt, methods=["POST"]),
    Route("/api/hooks/session-start", on_session_start, methods=["POST"]),
    Route("/api/hooks/pre-compact", on_pre_compact, methods=["POST"]),
    Route("/api/hooks/tool-used", on_tool_used, methods=["POST"]),
    Route("/api/hooks/stop", on_stop, methods=["POST"]),
    Route("/api/learn/status", learn_status, methods=["GET"]),
    Route("/api/learn/learned", learned, methods=["GET"]),
    Route("/api/learn/learned/{entry}/undo", undo_learned, methods=["POST"]),
]
