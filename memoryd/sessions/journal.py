"""The injection journal: for each recent Claude session, what the hooks injected and why, so
that a user can see (in the viewer's Sessions page) and fix a bad injection.

One row per hook answer: the SessionStart profile (each memory shown with its weight), or a
prompt (each candidate recall brought, with its score, the evidence the relevance floor
weighed, and whether it was injected or why not). It is private and bounded:

- no memory text is recorded, only ids and numbers (the page reads the memory through the
  API, so a memory deleted or made sensitive since shows as such); sensitive candidates are
  left out altogether;
- of the prompt, only its first PROMPT_PREVIEW characters, and none when it looks like it holds
  a secret (memory_core.crypto.detect);
- rows older than RETENTION_MS, and past the newest MAX_EVENTS, are pruned.

Like the session marks (tracker.py), rows are written after the hook's answer, batched: the
hook never waits for the single writer. A daemon that dies before the flush loses those rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiosqlite

from memory_core.clock import Clock
from memory_core.crypto.detect import contains_secret
from memoryd.daily_stats import DailyCounters
from memoryd.sessions import floor
from memoryd.sessions.deferred import DeferredRows, Job, PromptsInFlight
from memoryd.sessions.profile import Weighed
from memoryd.store.db import Database
from memoryd.store.records import Recalled

Hook = Literal["start", "prompt", "recovery"]
RETENTION_MS = 7 * 86_400_000
MAX_EVENTS = 5_000
PROMPT_PREVIEW = 120
# (session_id, at_ms, hook, project, prompt, items)
Row = tuple[str, int, str, str | None, str | None, str]


def prompt_preview(prompt: str) -> str | None:
    text = " ".join(prompt.split())
    if contains_secret(text):
        return None
    return text[:PROMPT_PREVIEW]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def candidates(
    hits: Sequence[Recalled], injected: set[str], passed: set[str] | None = None
) -> list[dict[str, Any]]:
    """What the floor saw of each non-sensitive hit, and what came of it (`passed`: the ids
    of `floor.relevant(hits)`, when the caller has them)."""
    best = max((r.score for r in hits), default=0.0)
    if passed is None:
        passed = {r.memory.id for r in floor.relevant(list(hits))}
    items = []
    for hit in hits:
        if hit.memory.is_sensitive:
            continue
        evidence = hit.evidence
        if hit.memory.id in injected:
            outcome = "injected"
        elif evidence.superseded_by is not None:
            outcome = "superseded"
        elif hit.memory.id not in passed:
            outcome = "below the floor"
        else:
            outcome = "shown before in this session, or no room"
        items.append(
            {
                "id": hit.memory.id,
                "score": _round(hit.score),
                "floor": _round(best * floor.RELATIVE_FLOOR),
                "matched": evidence.matched,
                "covered": _round(evidence.covered),
                "standout": _round(evidence.standout),
                "lexical": floor.lexical(hit),
                "semantic": floor.semantic(hit),
                "outcome": outcome,
            }
        )
    return items


def profile_items(ranked: Sequence[Weighed], shown: set[str]) -> list[dict[str, Any]]:
    return [
        {"id": w.memory.id, "weight": _round(w.weight), "outcome": "injected"}
        for w in ranked
        if w.memory.id in shown
    ]


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    first_ms: int
    last_ms: int
    project: str | None
    events: int
    injected: int


class InjectionJournal:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        daily: DailyCounters | None = None,
        burst: PromptsInFlight | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.daily = daily  # injections per day, for the status charts
        # Written after the prompts being answered (`burst`) are, as the session marks.
        self._rows = DeferredRows(db, _insert, "journal rows", burst)

    @property
    def burst(self) -> PromptsInFlight | None:
        return self._rows.burst

    @burst.setter
    def burst(self, burst: PromptsInFlight | None) -> None:
        """The hook service's count of prompts being answered (it starts after the journal)."""
        self._rows.burst = burst

    def record(
        self,
        session_id: str,
        hook: Hook,
        project: str | None,
        items: list[dict[str, Any]],
        prompt: str | None = None,
    ) -> None:
        """Note one hook answer; it is written soon, batched with others."""
        if self.daily is not None:
            self.daily.count("injections", sum(i["outcome"] == "injected" for i in items))
        self._rows.add(
            [(session_id, self.clock.now_ms(), hook, project, prompt, json.dumps(items))]
        )

    async def flush(self) -> None:
        await self._rows.flush()

    async def sessions(self, limit: int) -> list[SessionSummary]:
        """The most recent sessions, newest first."""
        await self.flush()
        async with self.db.reader() as conn:
            rows = await conn.execute_fetchall(
                "SELECT session_id, MIN(at_ms), MAX(at_ms), MAX(project), COUNT(*), "
                "SUM((SELECT COUNT(*) FROM json_each(items) "
                "WHERE json_extract(value, '$.outcome') = 'injected')) "
                "FROM injection_journal GROUP BY session_id ORDER BY MAX(seq) DESC LIMIT ?",
                (limit,),
            )
        return [SessionSummary(r[0], r[1], r[2], r[3], r[4], r[5] or 0) for r in rows]

    async def events(self, session_id: str) -> list[dict[str, Any]]:
        """A session's hook answers, in order."""
        await self.flush()
        async with self.db.reader() as conn:
            rows = await conn.execute_fetchall(
                "SELECT seq, at_ms, hook, project, prompt, items FROM injection_journal "
                "WHERE session_id = ? ORDER BY seq",
                (session_id,),
            )
        return [
            {
                "seq": r[0],
                "at_ms": r[1],
                "hook": r[2],
                "project": r[3],
                "prompt": r[4],
                "items": json.loads(r[5]),
            }
            for r in rows
        ]

    async def prune(self) -> int:
        cutoff = self.clock.now_ms() - RETENTION_MS

        async def job(conn: aiosqlite.Connection) -> int:
            old = await conn.execute("DELETE FROM injection_journal WHERE at_ms < ?", (cutoff,))
            over = await conn.execute(
                "DELETE FROM injection_journal WHERE seq <= "
                "(SELECT seq FROM injection_journal ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                (MAX_EVENTS,),
            )
            return old.rowcount + over.rowcount

        return await self.db.write(job)


def _insert(rows: list[Row]) -> Job:
    async def job(conn: aiosqlite.Connection) -> None:
        await conn.executemany(
            "INSERT INTO injection_journal (session_id, at_ms, hook, project, prompt, items) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    return job
