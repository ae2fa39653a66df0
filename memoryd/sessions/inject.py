"""What the hooks inject: the memories relevant to a prompt, a profile at session start
(`profile`), and the memories saved before a compaction. The daemon decides; the hook only
relays.

Injected text is data the user stored, framed as such (not as instructions), each memory with
its id and category, within a byte budget. Sensitive memories are never injected, not even
as a placeholder.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from memory_core.clock import Clock
from memory_core.errors import ServiceError
from memory_core.hook_settings import DEFAULT_BUDGET, MAX_BUDGET, MIN_BUDGET
from memory_core.model import Memory
from memory_core.recall import fts
from memoryd.sessions import floor, journal, profile
from memoryd.sessions.deferred import PromptsInFlight
from memoryd.sessions.journal import InjectionJournal
from memoryd.sessions.markers import CompactionMarkers
from memoryd.sessions.project import ProjectMemo
from memoryd.sessions.tracker import Kind, SessionTracker
from memoryd.store.memories import MemoryStore, Recalled, RecallQuery

RECALL_LIMIT = 6  # memories injected for one prompt, at most
# Recalled for one prompt: room for the floor to drop some and for what the session was shown
# already (the profile, earlier prompts) to be skipped, and still fill RECALL_LIMIT.
RECALL_POOL = 12
# Candidates for a prompt: the prompt hook runs for every prompt of every session at once, and
# rescoring candidates is most of its Python work. A recall's defaults are 60 lexical ones for
# 12 results and the 20 nearest; the hook takes 30 and the 12 nearest. Measured on the coding
# benchmark's dev split (docs/benchmarks.md): the same hit rate as 60 and 20, with the digest
# and without it (one prompt of 90 then injects one unneeded memory fewer; 20 lexical ones lost
# a needed memory); ~0.5 ms less daemon CPU a prompt at 10k.
HOOK_CANDIDATES = 30
HOOK_NEAREST = RECALL_POOL
COMPACTION_PROJECT_TOP = 10
MIN_PROMPT_CHARS = 10

# Conversational filler: a prompt made only of these (and stopwords) has no topic to recall.
_FILLER = frozenset(
    [
        "ok",
        "okay",
        "k",
        "yes",
        "yep",
        "yeah",
        "no",
        "nope",
        "sure",
        "thanks",
        "thank",
        "thx",
        "please",
        "pls",
        "go",
        "ahead",
        "continue",
        "proceed",
        "next",
        "done",
        "fine",
        "good",
        "great",
        "nice",
        "cool",
        "right",
        "correct",
        "lgtm",
        "sounds",
        "retry",
        "again",
        "try",
        "stop",
        "wait",
        "hmm",
        "hi",
        "hello",
        "hey",
    ]
)

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_READ_TOOLS = {"memory_recall", "memory_list"}
_WRITE_TOOLS = {"memory_store", "memory_update"}


def trivial(prompt: str) -> bool:
    """Prompts that recall would only add noise to: short, slash commands, no content words."""
    text = prompt.strip()
    if len(text) < MIN_PROMPT_CHARS or text.startswith("/"):
        return True
    return all(w in fts.STOPWORDS or w in _FILLER for w in fts.terms(text))


def clamp_budget(value: Any) -> int:
    """A hook request's `?budget=` in the hooks' own range (memory_core.hook_settings: one
    rule for the daemon, the shim and, by its tested copy, the stdlib hook)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return DEFAULT_BUDGET
    return max(MIN_BUDGET, min(MAX_BUDGET, value))


def _line(memory: Memory) -> str:
    where = f", project {memory.project}" if memory.project else ""
    content = " ".join((memory.content or "").split())
    return f"- [{memory.category}] {content} (id {memory.id}{where})"


def render(header: str, memories: list[Memory], budget: int) -> tuple[str, list[Memory]]:
    """The header and as many memory lines as fit in `budget` bytes; and those memories."""
    lines, used, shown = [header], len(header.encode()), []
    for memory in memories:
        line = _line(memory)
        size = len(line.encode()) + 1
        if used + size > budget:
            continue  # a shorter one further down may still fit
        lines.append(line)
        used += size
        shown.append(memory)
    return "\n".join(lines), shown


def _ids_in(value: Any) -> list[str]:
    """Every memory id in a tool result (any shape: the shim's structured output or text)."""
    found: list[str] = []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [m for m in re.findall(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}", value)]
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("id", "updated", "duplicate_of") and isinstance(item, str):
                if _UUID.match(item):
                    found.append(item)
            else:
                found.extend(_ids_in(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_ids_in(item))
    return found


@dataclass
class HookService:
    store: MemoryStore
    tracker: SessionTracker
    markers: CompactionMarkers
    clock: Clock
    # What each hook answer injected and why, for the viewer's Sessions page.
    journal: InjectionJournal | None = None
    # The prompts being answered; the tracker and the journal write after them (deferred.py).
    burst: PromptsInFlight = field(default_factory=PromptsInFlight)
    # The project of a working directory, remembered a moment (a burst asks it 8 times).
    projects: ProjectMemo = field(init=False)

    def __post_init__(self) -> None:
        self.projects = ProjectMemo(self.clock)

    async def _live(self, ids: list[str]) -> list[Memory]:
        """The memories of `ids` that may still be injected: live, not sensitive, and not
        replaced since by a newer memory."""
        replaced = await self.store.successors(ids)
        out = []
        for memory_id in dict.fromkeys(ids):
            try:
                memory = await self.store.get(memory_id)
            except ServiceError:
                continue  # deleted since, or not ours
            if not memory.is_sensitive and memory.id not in replaced:
                out.append(memory)
        return out

    async def _recovery(self, session_id: str, budget: int) -> str | None:
        # A read first: almost every session start has no marker, and a write would queue
        # behind every other writer.
        if not await self.markers.pending(session_id):
            return None
        return await self._recover(session_id, budget)

    async def _recover(self, session_id: str, budget: int) -> str | None:
        ids = await self.markers.take(session_id)
        if ids is None:
            return None
        await self.tracker.forget_injected(session_id)
        memories = await self._live(ids)
        if not memories:
            return None
        text, shown = render(
            "memoryd: memories this session relied on before its context was compacted "
            "(stored earlier by the user; use memory_recall for more):",
            memories,
            budget,
        )
        self.tracker.note(session_id, "briefed", shown)
        if self.journal is not None:
            items = [{"id": m.id, "outcome": "injected"} for m in shown]
            self.journal.record(session_id, "recovery", None, items)
        return text

    async def on_prompt(self, session_id: str, prompt: str, cwd: str | None, budget: int) -> str:
        # Counted while it is answered: its bookkeeping, and that of the prompts answered
        # beside it, is written once the last of them is (deferred.py).
        with self.burst.answering():
            return await self._answer_prompt(session_id, prompt, cwd, budget)

    async def _answer_prompt(
        self, session_id: str, prompt: str, cwd: str | None, budget: int
    ) -> str:
        relevant: list[Memory] = []
        hits: list[Recalled] = []
        passed: list[Recalled] = []
        project = self.projects(cwd)
        if not trivial(prompt):
            hits = await self.store.recall_evidence(
                RecallQuery(
                    context=prompt,
                    project=project,
                    limit=RECALL_POOL,
                    include_sensitive=False,
                    static_query=True,
                    candidates=HOOK_CANDIDATES,
                    dense_candidates=HOOK_NEAREST,
                )
            )
            passed = floor.relevant(hits)
            relevant = [r.memory for r in passed if not r.memory.is_sensitive]
        # The marker check and the dedup answer from memory (markers.py, seen.py): no hand-off
        # to a reader, but the first dedup of a session with marks written before.
        pending = await self.markers.pending(session_id)
        parts = []
        injected: set[str] = set()
        if pending:
            recovered = await self._recover(session_id, budget)
            if recovered:
                parts.append(recovered)
                budget -= len(recovered.encode()) + 2
        fresh = (await self.tracker.fresh(session_id, relevant))[:RECALL_LIMIT]  # after it
        if fresh and budget > 256:
            text, shown = render(
                "memoryd: memories relevant to this prompt (stored earlier by the user):",
                fresh,
                budget,
            )
            if shown:
                parts.append(text)
                # Written after the answer (batched); `fresh` sees it at once.
                self.tracker.note(session_id, "injected", shown)
                injected = {m.id for m in shown}
        if self.journal is not None and hits:
            self.journal.record(
                session_id,
                "prompt",
                project,
                journal.candidates(hits, injected, {r.memory.id for r in passed}),
                journal.prompt_preview(prompt),
            )
        return "\n\n".join(parts)

    async def on_session_start(
        self, session_id: str, source: str, cwd: str | None, budget: int
    ) -> str:
        if source == "compact":
            return await self._recovery(session_id, budget) or ""
        if source == "clear":
            await self.tracker.forget_injected(session_id)
        project = self.projects(cwd)
        candidates, projects = await self.store.standing(project, profile.CANDIDATES)
        ranked = profile.rank(candidates, project, projects, self.clock.now_ms())
        text, shown = profile.render(project, ranked, budget)
        # The prompt hook skips whatever the session was shown (SessionTracker.fresh).
        self.tracker.note(session_id, "briefed", shown)
        if self.journal is not None and shown:
            items = journal.profile_items(ranked, {m.id for m in shown})
            self.journal.record(session_id, "start", project, items)
        return text if shown else ""

    async def on_pre_compact(self, session_id: str, cwd: str | None) -> int:
        project = self.projects(cwd)
        ids = await self.tracker.seen(session_id)
        top = await self.store.most_important(project, COMPACTION_PROJECT_TOP)
        ids += [m.id for m in top if m.id not in ids]
        await self.markers.save(session_id, ids, project)
        await self.markers.cleanup()
        return len(ids)

    async def on_tool_used(self, session_id: str, tool_name: str, response: Any) -> int:
        tool = tool_name.rsplit("__", 1)[-1]
        kind: Kind
        if tool in _READ_TOOLS:
            kind = "recalled"
        elif tool in _WRITE_TOOLS:
            kind = "stored"
        else:
            return 0
        memories = []
        for memory_id in dict.fromkeys(_ids_in(response)):
            try:
                memories.append(await self.store.get(memory_id))
            except ServiceError:
                continue
        await self.tracker.mark(session_id, kind, memories)
        return len(memories)
