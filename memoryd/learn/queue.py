"""The learning queue, owned by the daemon.

The Stop hook marks a transcript as pending (a row in `learn_sessions`, so nothing is lost
across a restart). A single worker drains pending transcripts one at a time: it reads the
turns not judged yet, redacts secrets, asks the judge, and stores the lessons with
source=auto-learn and the tag `auto-learned`. Every call's tokens count towards the day's
cap (`spend`); every lesson stored is noted for undo (`learned`); the worker's loop also runs
the daemon's hourly cleanups (`cleanup`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

from memory_core.clock import Clock
from memory_core.crypto.detect import contains_secret, redact
from memory_core.errors import ServiceError
from memory_core.model import Memory
from memoryd.learn.cleanup import Cleanup, CleanupSchedule
from memoryd.learn.judge import Judge, JudgeError, Lesson, build_prompt
from memoryd.learn.learned import LearnedLedger
from memoryd.learn.spend import TokenLedger
from memoryd.learn.transcript import read_turns
from memoryd.sessions.project import project_for
from memoryd.store.memories import MemoryStore, NewMemory, Patch, RecallQuery
from memoryd.store.statement import write_statement

log = logging.getLogger("memoryd.learn")

TAG = "auto-learned"
MAX_PROMPT_CHARS = 12_000
EXISTING_LIMIT = 8
RETRY_AFTER_S = 60.0
_CATEGORY = {
    "correction": "preferences",
    "preference": "preferences",
    "decision": "decisions",
    "fact": "facts",
}


# What became of one lesson.
Outcome = Literal["stored", "updated", "superseded", "duplicate", "skipped"]


def replaces(lesson: Lesson) -> bool:
    """Whether a lesson about an existing memory replaces it (a contradiction: the newer memory
    supersedes the older, which stays as history) rather than refining it in place. A
    correction always contradicts what it corrects, whatever action the judge chose."""
    return lesson.action == "supersede" or (
        lesson.action == "update" and lesson.kind == "correction"
    )


class LearningQueue:
    def __init__(
        self,
        store: MemoryStore,
        clock: Clock,
        judge: Judge | None,
        status_line: str,
        daily_tokens: int,
        model: str,
        poll_seconds: float = 30.0,
    ) -> None:
        self.store = store
        self.db = store.db
        self.clock = clock
        self.judge = judge
        self.status_line = status_line
        self.model = model
        self.poll_seconds = poll_seconds
        self.tokens = TokenLedger(store.db, clock, daily_tokens)
        self.ledger = LearnedLedger(store, clock)
        self._wake = asyncio.Event()
        self.last_error: str | None = None
        self.maintenance: list[Cleanup] = []  # run by the worker, see CleanupSchedule
        # Whether the user paused auto-learn for a project (memoryd.learn.pause): its turns are
        # read past without being judged, so they are never learned, even after a resume.
        self.paused: Callable[[str | None], Awaitable[bool]] | None = None
        self._cleanups = CleanupSchedule(clock)

    # ------------------------------------------------------------------ queue

    async def enqueue(self, session_id: str, transcript_path: str, cwd: str | None) -> bool:
        if self.judge is None or not session_id or not transcript_path:
            return False
        now = self.clock.now_ms()

        await write_statement(
            self.db,
            "INSERT INTO learn_sessions (session_id, transcript_path, cwd, pending, "
            "requested_ms) VALUES (?, ?, ?, 1, ?) ON CONFLICT (session_id) DO UPDATE SET "
            "transcript_path = excluded.transcript_path, cwd = excluded.cwd, pending = 1, "
            "requested_ms = excluded.requested_ms",
            (session_id, transcript_path, cwd, now),
        )
        self._wake.set()
        return True

    async def run(self) -> None:
        """The worker: drain, then wait to be woken (or poll, for the next day's budget)."""
        while True:
            self._wake.clear()
            delay = self.poll_seconds
            try:
                await self._cleanups.run_due(self.maintenance)
                if not await self.drain():
                    delay = max(delay, RETRY_AFTER_S)
            except Exception as exc:  # the worker must outlive any one bad transcript
                log.exception("learning pass failed")
                self.last_error = f"{type(exc).__name__}: {exc}"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def drain(self) -> bool:
        """Judge every pending transcript; False when a judge call failed (retry later)."""
        if self.judge is None:
            return True
        while True:
            if await self.tokens.exhausted():
                return True
            async with (
                self.db.reader() as conn,
                conn.execute(
                    "SELECT session_id, transcript_path, cwd, judged_lines, requested_ms "
                    "FROM learn_sessions WHERE pending = 1 ORDER BY requested_ms LIMIT 1"
                ) as cursor,
            ):
                row = await cursor.fetchone()
            if row is None:
                return True
            try:
                await self.process(row[0], Path(row[1]), row[2], row[3], row[4])
            except JudgeError as exc:
                self.last_error = str(exc)
                log.warning("auto-learn: judge failed: %s", exc)
                return False

    async def process(
        self,
        session_id: str,
        path: Path,
        cwd: str | None,
        judged_lines: int,
        requested_ms: int,
    ) -> Counter[Outcome]:
        """Judge the turns not judged yet and apply the lessons: how many ended how."""
        turns, end = read_turns(path, judged_lines)
        outcomes: Counter[Outcome] = Counter()
        if turns and self.paused is not None and await self.paused(project_for(cwd)):
            turns = []  # paused: skipped, not judged
        if turns and self.judge is not None:
            pairs = [(t.role, redact(t.text)) for t in turns]
            budget, kept = MAX_PROMPT_CHARS, list[tuple[str, str]]()
            for role, text in reversed(pairs):  # the newest turns matter most
                if budget - len(text) < 0 and kept:
                    break
                kept.append((role, text[-budget:] if budget < len(text) else text))
                budget -= len(text)
            kept.reverse()
            project = project_for(cwd)
            existing = await self._related(" ".join(t for r, t in kept if r == "user"), project)
            prompt = build_prompt(
                [(m.id, m.category, redact(m.content or "")) for m in existing], kept
            )
            judgement = await self.judge.judge(prompt)
            await self.tokens.add(judgement.input_tokens, judgement.output_tokens)
            offered = {m.id: m for m in existing}
            for lesson in judgement.verdict.lessons:
                outcomes[await self._apply(lesson, offered, project, session_id)] += 1
            self.last_error = None
        now = self.clock.now_ms()

        # A Stop that arrived while we judged keeps the row pending.
        await write_statement(
            self.db,
            "UPDATE learn_sessions SET judged_lines = ?, judged_ms = ?, "
            "pending = CASE WHEN requested_ms > ? THEN 1 ELSE 0 END WHERE session_id = ?",
            (end, now, requested_ms, session_id),
        )
        return outcomes

    async def _related(self, text: str, project: str | None) -> list[Memory]:
        if not text.strip():
            return []
        hits = await self.store.recall(
            RecallQuery(
                context=text[-4000:], project=project, limit=EXISTING_LIMIT, include_sensitive=False
            )
        )
        return [m for m, _ in hits if not m.is_sensitive]

    async def _apply(
        self,
        lesson: Lesson,
        offered: dict[str, Memory],
        project: str | None,
        session_id: str,
    ) -> Outcome:
        content = " ".join(lesson.content.split())
        if not content or contains_secret(content) or "[REDACTED:" in content:
            return "skipped"
        target = offered.get(lesson.existing_id or "")
        if lesson.action == "duplicate" and target is not None:
            return "duplicate"
        importance = min(max(lesson.importance, 0.0), 1.0)
        try:
            if replaces(lesson) and target is not None:
                if await self._supersede(lesson, content, importance, target, session_id):
                    return "superseded"
                return "duplicate"
            if lesson.action == "update" and target is not None:
                previous = target.content or ""
                tags = target.tags + [t for t in (TAG, lesson.kind) if t not in target.tags]
                memory = await self.store.update(
                    target.id,
                    Patch(
                        content=content,
                        tags=tags,
                        importance=max(importance, target.importance),
                        expanded_keywords=lesson.keywords,
                        origin="auto-learn",
                    ),
                )
                await self.ledger.record(
                    memory.id,
                    session_id,
                    "updated",
                    lesson.kind,
                    lesson.reason,
                    previous_content=previous,
                )
                return "updated"
            created = await self.store.create(
                NewMemory(
                    content=content,
                    category=_CATEGORY[lesson.kind],
                    tags=[TAG, lesson.kind],
                    expanded_keywords=lesson.keywords,
                    importance=importance,
                    project=project,
                    source="auto-learn",
                )
            )
        except ServiceError as exc:
            log.info("auto-learn: lesson not stored: %s", exc.message)
            return "skipped"
        if created.duplicate_of:
            return "duplicate"
        await self.ledger.record(
            created.memory.id, session_id, "stored", lesson.kind, lesson.reason
        )
        return "stored"

    async def _supersede(
        self, lesson: Lesson, content: str, importance: float, target: Memory, session_id: str
    ) -> bool:
        """Store the lesson as the successor of `target`, in its category and scope; undo
        deletes the successor, which makes `target` current again. False when the lesson's
        text was stored already: that memory now supersedes `target` (unless it replaced
        another), and no entry is recorded (undo would delete the user's own memory)."""
        created = await self.store.create(
            NewMemory(
                content=content,
                category=target.category,
                tags=[TAG, lesson.kind],
                expanded_keywords=lesson.keywords,
                importance=max(importance, target.importance),
                project=target.project,
                source="auto-learn",
                supersedes=target.id,
            )
        )
        if created.duplicate_of:
            return False
        await self.ledger.record(
            created.memory.id,
            session_id,
            "superseded",
            lesson.kind,
            lesson.reason,
            previous_content=target.content or "",
        )
        return True

    async def status(self) -> dict[str, Any]:
        today = await self.tokens.spent()
        async with (
            self.db.reader() as conn,
            conn.execute("SELECT COUNT(*) FROM learn_sessions WHERE pending = 1") as cursor,
        ):
            row = await cursor.fetchone()
        paused = self.judge is not None and self.tokens.over_cap(today)
        state = self.status_line
        if paused:
            state = (
                f"paused: today's {today['tokens']} tokens reached MEMORY_LEARN_DAILY_TOKENS="
                f"{self.tokens.daily_tokens}; learning resumes tomorrow (UTC)"
            )
        return {
            "enabled": self.judge is not None,
            "backend": self.judge.name if self.judge is not None else None,
            "model": self.model,
            "status": state,
            "paused": paused,
            "daily_tokens": self.tokens.daily_tokens,
            "today": today,
            "pending": int(row[0]) if row else 0,
            "last_error": self.last_error,
        }

    # ------------------------------------------------------------------ learned

    async def learned(self, limit: int = 20) -> list[dict[str, Any]]:
        return await self.ledger.entries(limit)

    async def undo(self, entry: int) -> dict[str, Any]:
        return await self.ledger.undo(entry)
