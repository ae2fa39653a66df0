"""Wiring for the lifespan: the hook service, the learning queue and its worker task."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from memory_core.clock import Clock
from memoryd.learn.config import LearnSettings, backend
from memoryd.learn.judge import ApiJudge, CliJudge, Judge
from memoryd.learn.queue import LearningQueue
from memoryd.sessions.inject import HookService
from memoryd.sessions.markers import CompactionMarkers
from memoryd.sessions.tracker import SessionTracker
from memoryd.store.memories import MemoryStore

log = logging.getLogger("memoryd.learn")


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
async def hook_runtime(
    store: MemoryStore, clock: Clock, home: Path
) -> AsyncIterator[dict[str, Any]]:
    """Yields the services to register (`hooks`, `learning`) while the worker runs."""
    tracker = SessionTracker(store.db, clock)
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
    log.info("auto-learn %s", line)
    task = asyncio.create_task(queue.run(), name="memoryd-learning")
    try:
        yield {"hooks": HookService(store, tracker, markers, clock), "learning": queue}
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await tracker.close()  # the session marks the prompt hook left to write
        if isinstance(judge, ApiJudge):
            await judge.close()
