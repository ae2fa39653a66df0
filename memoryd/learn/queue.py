"""The learning queue, owned by the daemon.

The Stop hook marks a transcript as pending (a row in `learn_sessions`, so nothing is lost
across a restart). A single worker drains pending transcripts one at a time: it reads the
turns not judged yet, redacts secrets, asks the judge, and stores the lessons with
source=auto-learn and the tag `auto-learned`. Every call's tokens count towards the day's
cap; at the cap, learning pauses until the next UTC day.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from memory_core.clock import Clock
from memory_core.crypto.detect import contains_secret, redact
from memory_core.errors import NotFound, ServiceError
from memory_core.model import Memory
from memoryd.learn.judge import Judge, JudgeError, Lesson, build_prompt
from memoryd.learn.transcript import read_turns
from memoryd.sessions.project import project_for
from memoryd.store.memories import MemoryStore, NewMemory, Patch, RecallQuery

log = logging.getLogger("memoryd.learn")

TAG = "auto-learned"
MAX_PROMPT_CHARS = 12_000
EXISTING_LIMIT = 8
RETRY_AFTER_S = 60.0
MAINTENANCE_MS = 3_600_000
_CATEGORY = {
    "correction": "preferences",
    "preference": "preferences",
    "decision": "decisions",
    "fact": "facts",
}


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


@dataclass
class Outcome:
    stored: int = 0
    updated: int = 0
    duplicates: int = 0
    skipped: int = 0


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
        self.daily_tokens = daily_tokens
        self.model = model
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self.last_error: str | None = None
        self.maintenance: list[Any] = []  # async cleanups, run at most every MAINTENANCE_MS
        self._maintained_ms = -MAINTENANCE_MS

    # ------------------------------------------------------------------ queue

    async def enqueue(self, session_id: str, transcript_path: str, cwd: str | None) -> bool:
        if self.judge is None or not session_id or not transcript_path:
            return False
        now = self.clock.now_ms()

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "INSERT INTO learn_sessions (session_id, transcript_path, cwd, pending, "
                "requested_ms) VALUES (?, ?, ?, 1, ?) ON CONFLICT (session_id) DO UPDATE SET "
                "transcript_path = excluded.transcript_path, cwd = excluded.cwd, pending = 1, "
                "requested_ms = excluded.requested_ms",
                (session_id, transcript_path, cwd, now),
            )

        await self.db.write(job)
        self._wake.set()
        return True

    async def run(self) -> None:
        """The worker: drain, then wait to be woken (or poll, for the next day's budget)."""
        while True:
            self._wake.clear()
            delay = self.poll_seconds
            try:
                now = self.clock.now_ms()
                if now - self._maintained_ms >= MAINTENANCE_MS:
                    self._maintained_ms = now
                    for task in self.maintenance:
                        await task()
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
            if await self.paused():
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
    ) -> Outcome:
        turns, end = read_turns(path, judged_lines)
        outcome = Outcome()
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
            await self._spend(judgement.input_tokens, judgement.output_tokens)
            offered = {m.id: m for m in existing}
            for lesson in judgement.verdict.lessons:
                await self._apply(lesson, offered, project, session_id, outcome)
            self.last_error = None
        now = self.clock.now_ms()

        async def job(conn: aiosqlite.Connection) -> None:
            # A Stop that arrived while we judged keeps the row pending.
            await conn.execute(
                "UPDATE learn_sessions SET judged_lines = ?, judged_ms = ?, "
                "pending = CASE WHEN requested_ms > ? THEN 1 ELSE 0 END WHERE session_id = ?",
                (end, now, requested_ms, session_id),
            )

        await self.db.write(job)
        return outcome

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
        outcome: Outcome,
    ) -> None:
        content = " ".join(lesson.content.split())
        if not content or contains_secret(content) or "[REDACTED:" in content:
            outcome.skipped += 1
            return
        target = offered.get(lesson.existing_id or "")
        if lesson.action == "duplicate" and target is not None:
            outcome.duplicates += 1
            return
        importance = min(max(lesson.importance, 0.0), 1.0)
        try:
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
                    ),
                )
                await self._record(
                    memory.id, session_id, "updated", lesson, previous_content=previous
                )
                outcome.updated += 1
                return
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
            outcome.skipped += 1
            return
        if created.duplicate_of:
            outcome.duplicates += 1
            return
        await self._record(created.memory.id, session_id, "stored", lesson)
        outcome.stored += 1

    async def _record(
        self,
        memory_id: str,
        session_id: str,
        action: str,
        lesson: Lesson,
        previous_content: str | None = None,
    ) -> None:
        now = self.clock.now_ms()

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "INSERT INTO learned (memory_id, session_id, action, kind, reason, "
                "previous_content, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    memory_id,
                    session_id,
                    action,
                    lesson.kind,
                    redact(lesson.reason)[:500],
                    previous_content,
                    now,
                ),
            )

        await self.db.write(job)

    # ------------------------------------------------------------------ spend

    async def _spend(self, input_tokens: int, output_tokens: int) -> None:
        day = _day(self.clock.now_ms())

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "INSERT INTO learn_spend (day, input_tokens, output_tokens, calls) "
                "VALUES (?, ?, ?, 1) ON CONFLICT (day) DO UPDATE SET "
                "input_tokens = input_tokens + excluded.input_tokens, "
                "output_tokens = output_tokens + excluded.output_tokens, calls = calls + 1",
                (day, input_tokens, output_tokens),
            )

        await self.db.write(job)

    async def spend(self, day: str | None = None) -> dict[str, Any]:
        day = day or _day(self.clock.now_ms())
        async with (
            self.db.reader() as conn,
            conn.execute(
                "SELECT input_tokens, output_tokens, calls FROM learn_spend WHERE day = ?", (day,)
            ) as cursor,
        ):
            row = await cursor.fetchone()
        used_in, used_out, calls = (row[0], row[1], row[2]) if row else (0, 0, 0)
        return {
            "day": day,
            "input_tokens": used_in,
            "output_tokens": used_out,
            "tokens": used_in + used_out,
            "calls": calls,
        }

    async def paused(self) -> bool:
        tokens: int = (await self.spend())["tokens"]
        return tokens >= self.daily_tokens

    async def status(self) -> dict[str, Any]:
        today = await self.spend()
        async with (
            self.db.reader() as conn,
            conn.execute("SELECT COUNT(*) FROM learn_sessions WHERE pending = 1") as cursor,
        ):
            row = await cursor.fetchone()
        paused = self.judge is not None and today["tokens"] >= self.daily_tokens
        state = self.status_line
        if paused:
            state = (
                f"paused: today's {today['tokens']} tokens reached MEMORY_LEARN_DAILY_TOKENS="
                f"{self.daily_tokens}; learning resumes tomorrow (UTC)"
            )
        return {
            "enabled": self.judge is not None,
            "backend": self.judge.name if self.judge is not None else None,
            "model": self.model,
            "status": state,
            "paused": paused,
            "daily_tokens": self.daily_tokens,
            "today": today,
            "pending": int(row[0]) if row else 0,
            "last_error": self.last_error,
        }

    # ------------------------------------------------------------------ learned

    async def learned(self, limit: int = 20) -> list[dict[str, Any]]:
        async with (
            self.db.reader() as conn,
            conn.execute(
                "SELECT rowid, memory_id, session_id, action, kind, reason, previous_content, "
                "at_ms, undone_ms FROM learned ORDER BY at_ms DESC, rowid DESC LIMIT ?",
                (limit,),
            ) as cursor,
        ):
            rows = list(await cursor.fetchall())
        out = []
        for row in rows:
            try:
                memory: Memory | None = await self.store.get(row[1])
            except ServiceError:
                memory = None
            out.append(
                {
                    "entry": row[0],
                    "memory_id": row[1],
                    "session_id": row[2],
                    "action": row[3],
                    "kind": row[4],
                    "reason": row[5],
                    "previous_content": row[6],
                    "at_ms": row[7],
                    "undone": row[8] is not None,
                    "content": memory.shown_content() if memory else None,
                }
            )
        return out

    async def undo(self, entry: int) -> dict[str, Any]:
        async with (
            self.db.reader() as conn,
            conn.execute(
                "SELECT memory_id, action, previous_content, undone_ms FROM learned "
                "WHERE rowid = ?",
                (entry,),
            ) as cursor,
        ):
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"no auto-learned entry {entry}")
        memory_id, action, previous, undone = row
        if undone is not None:
            return {"entry": entry, "memory_id": memory_id, "undone": "already"}
        if action == "updated" and previous:
            await self.store.update(memory_id, Patch(content=previous))
            result = "restored the previous content"
        else:
            with contextlib.suppress(NotFound):
                await self.store.delete(memory_id)
            result = "deleted the memory"
        now = self.clock.now_ms()

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute("UPDATE learned SET undone_ms = ? WHERE rowid = ?", (now, entry))

        await self.db.write(job)
        return {"entry": entry, "memory_id": memory_id, "undone": result}
