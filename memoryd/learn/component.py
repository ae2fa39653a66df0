"""The hooks' service and auto-learn as a component of the daemon: their part of the lifespan
(the session tracker, the compaction markers, the learning queue and its worker task) and
their endpoints, for the Claude Code hooks (hooks/memory_hook.py) and for `memory learned`.

Each hook endpoint takes, unparsed by the hook, the event JSON Claude Code gave it (`budget`
in the query string). `prompt` and `session-start` answer with exactly what the hook prints
(a JSON object for Claude Code), or 204 when there is nothing to inject; the other endpoints
answer a small JSON report the hook ignores.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, TypedDict, Unpack

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memory_core.clock import Clock
from memory_core.errors import InvalidInput, Unavailable
from memory_core.hook_settings import DEFAULT_BUDGET
from memory_core.http.routing import BodyHandler, Endpoint, endpoint
from memoryd.api.components import components
from memoryd.curation import Curation
from memoryd.learn.config import LearnSettings, backend
from memoryd.learn.judge import ApiJudge, CliJudge, Judge
from memoryd.learn.queue import LearningQueue
from memoryd.sessions.deferred import PromptsInFlight
from memoryd.sessions.inject import HookService, clamp_budget
from memoryd.sessions.markers import CompactionMarkers
from memoryd.sessions.project import project_for
from memoryd.sessions.tracker import SessionTracker
from memoryd.store.memories import MemoryStore
from memoryd.tasks import cancel_and_wait

log = logging.getLogger("memoryd.learn")

Short = Annotated[str, StringConstraints(max_length=4096)]


def _whole_characters(text: str) -> str:
    """A prompt cut in the middle of an emoji holds a lone surrogate, which recall's
    tokenizer cannot take: it becomes "?" rather than a refused prompt."""
    return text.encode("utf-8", "replace").decode("utf-8")


# The whole event arrives (a long last assistant message or tool result included).
HOOK_BODY_LIMIT = 16 * 1024 * 1024
MAX_PROMPT_CHARS = 8000  # recall reads the first few dozen words anyway


class HookIn(BaseModel):
    """The subset of Claude Code's hook input that memoryd reads."""

    model_config = ConfigDict(extra="ignore")

    session_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    cwd: Short | None = None
    prompt: Annotated[str, AfterValidator(_whole_characters)] = ""
    source: Short = "startup"
    transcript_path: Short = ""
    tool_name: Short = ""
    tool_response: Any = None
    stop_hook_active: bool = False


class SavedOut(BaseModel):
    saved: int


class TrackedOut(BaseModel):
    tracked: int


class QueuedOut(BaseModel):
    queued: bool


class LearnedOut(BaseModel):
    learned: list[dict[str, Any]]


def _judge(home: Path) -> tuple[Judge | None, str, LearnSettings]:
    try:
        settings = LearnSettings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "auto-learn setting"
        return None, f"off: invalid {name}: {err['msg']}", LearnSettings.model_construct()
    kind, line = backend(settings)
    judge: Judge | None = None
    if kind == "api":
        judge = ApiJudge(settings.model)
    elif kind == "cli":
        judge = CliJudge(settings.claude_bin, settings.model, home / "learn")
    return judge, line, settings


@contextlib.asynccontextmanager
async def hooks_and_learning(
    store: MemoryStore, clock: Clock, home: Path, curation: Curation | None = None
) -> AsyncIterator[tuple[HookService, LearningQueue]]:
    """The hook service and the learning queue, its worker running while the daemon runs."""
    # The prompts being answered: the session marks and the journal rows of those answered
    # together are written once, after the last of them (memoryd.sessions.deferred).
    burst = PromptsInFlight()
    tracker = SessionTracker(store.db, clock, burst)
    markers = CompactionMarkers(store.db, clock)
    judge, line, settings = _judge(home)
    queue = LearningQueue(
        store,
        clock,
        judge,
        line,
        daily_tokens=settings.daily_tokens,
        model=settings.model,
    )
    queue.maintenance = [markers.cleanup, tracker.cleanup]
    if curation is not None:
        queue.maintenance += curation.maintenance()
        queue.paused = curation.pause.is_paused
    log.info("auto-learn %s", line)
    task = asyncio.create_task(queue.run(), name="memoryd-learning")
    try:
        journal = curation.journal if curation is not None else None
        if journal is not None:
            journal.burst = burst
        yield HookService(store, tracker, markers, clock, journal, burst), queue
    finally:
        await cancel_and_wait(task)
        await tracker.close()  # the session marks the prompt hook left to write
        if isinstance(judge, ApiJudge):
            await judge.close()


# An entry is a SQLite rowid: at most 19 digits. Longer digit strings name no entry.
MAX_ENTRY_DIGITS = 19


def _digits(raw: str) -> bool:
    """Only 0-9: str.isdigit() also takes "²" and "١", which int() refuses or reads."""
    return raw.isascii() and raw.isdigit()


def budget(request: Request) -> int:
    raw = request.query_params.get("budget", "")
    if not _digits(raw):
        return DEFAULT_BUDGET
    # Past 9 digits the value is clamped to the maximum anyway; int() of 4,301 would raise.
    return clamp_budget(int(raw) if len(raw) <= 9 else 10**9)


def hook_service(request: Request) -> HookService:
    found = components(request).hooks
    if found is None:
        raise Unavailable("the hook service is not running")
    return found


def learning(request: Request) -> LearningQueue:
    found = components(request).learning
    if found is None:
        raise Unavailable("the learning queue is not running")
    return found


def _context(event: str, text: str) -> Response:
    """What the hook prints: additionalContext for Claude Code, or nothing (204)."""
    if not text:
        return Response(status_code=204)
    return JSONResponse({"hookSpecificOutput": {"hookEventName": event, "additionalContext": text}})


async def on_prompt(request: Request, body: HookIn) -> Response:
    """UserPromptSubmit: the recovery block and recalled memories to inject (or 204)."""
    text = await hook_service(request).on_prompt(
        body.session_id, body.prompt[:MAX_PROMPT_CHARS], body.cwd, budget(request)
    )
    return _context("UserPromptSubmit", text)


async def on_session_start(request: Request, body: HookIn) -> Response:
    """SessionStart: the digest, or the recovery after a compaction, to inject (or 204)."""
    text = await hook_service(request).on_session_start(
        body.session_id, body.source, body.cwd, budget(request)
    )
    return _context("SessionStart", text)


async def on_pre_compact(request: Request, body: HookIn) -> SavedOut:
    """PreCompact: save the session's memory ids in a marker, for the recovery after it."""
    return SavedOut(saved=await hook_service(request).on_pre_compact(body.session_id, body.cwd))


async def on_tool_used(request: Request, body: HookIn) -> TrackedOut:
    """PostToolUse: track the memory ids a memory tool showed in this session."""
    tracked = await hook_service(request).on_tool_used(
        body.session_id, body.tool_name, body.tool_response
    )
    return TrackedOut(tracked=tracked)


async def on_stop(request: Request, body: HookIn) -> QueuedOut:
    """Stop: queue the session's transcript for auto-learn."""
    # After a Stop hook made Claude continue, the turn is not over: nothing to learn yet.
    if body.stop_hook_active:
        return QueuedOut(queued=False)
    # A paused project's turns are queued all the same, for the worker to read past them
    # unjudged (else they would be judged after a resume); nothing of them will be learned.
    queued = await learning(request).enqueue(body.session_id, body.transcript_path, body.cwd)
    return QueuedOut(queued=queued and not await _paused(request, body.cwd))


async def _paused(request: Request, cwd: str | None) -> bool:
    """The user paused auto-learn for this session's project (memoryd.learn.pause)."""
    curation = components(request).curation
    return curation is not None and await curation.pause.is_paused(project_for(cwd))


async def learn_status(request: Request) -> Response:
    """Auto-learn on, off or paused, and today's token spend."""
    return JSONResponse(await learning(request).status())


async def learned(request: Request) -> LearnedOut:
    """What auto-learn stored or updated, newest first."""
    raw = request.query_params.get("limit", "20")
    if not _digits(raw) or len(raw) > 4 or not 1 <= int(raw) <= 1000:
        raise InvalidInput(f"limit must be an integer between 1 and 1000 (got {raw[:40]!r})")
    return LearnedOut(learned=await learning(request).learned(int(raw)))


async def undo_learned(request: Request) -> Response:
    """Undo one auto-learn entry: delete what it stored, restore what it updated."""
    raw = request.path_params["entry"]
    if not _digits(raw) or len(raw) > MAX_ENTRY_DIGITS or int(raw) >= 1 << 63:
        raise InvalidInput(f"{raw[:40]!r} is not an entry number")
    return JSONResponse(await learning(request).undo(int(raw)))


# What a hook endpoint may say beside its handler (memory_core.http.routing.endpoint's words).
class _HookOptions(TypedDict, total=False):
    answer: type[BaseModel]
    status: int
    also: tuple[int, ...]
    query: tuple[str, ...]


def _hook(event: str, handler: BodyHandler[HookIn], **options: Unpack[_HookOptions]) -> Endpoint:
    """POST /api/hooks/<event>, the whole event JSON as the body."""
    path = f"/api/hooks/{event}"
    return endpoint("POST", path, handler, body=HookIn, body_limit=HOOK_BODY_LIMIT, **options)


ENDPOINTS = (
    _hook("prompt", on_prompt, also=(204,), query=("budget",)),
    _hook("session-start", on_session_start, also=(204,), query=("budget",)),
    _hook("pre-compact", on_pre_compact, answer=SavedOut),
    _hook("tool-used", on_tool_used, answer=TrackedOut),
    _hook("stop", on_stop, answer=QueuedOut, status=202),
    endpoint("GET", "/api/learn/status", learn_status),
    endpoint("GET", "/api/learn/learned", learned, answer=LearnedOut, query=("limit",)),
    endpoint("POST", "/api/learn/learned/{entry}/undo", undo_learned),
)
