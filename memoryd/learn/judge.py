"""The judge: a small Claude model that reads new conversation turns and returns, with a reason
for each, only the durable lessons in them. Two backends with one interface: the Anthropic API
(the `anthropic` SDK, structured output) and the `claude` CLI in headless mode.

Everything handed to a judge has already had its secrets redacted by the caller.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ValidationError

from memory_core.http.bodies import validation_message
from memory_core.private_files import private_dir

SYSTEM = """\
You judge a conversation between a user and a coding assistant for a long-term memory store.
Extract only DURABLE knowledge worth remembering in future sessions:
- correction: the user corrected the assistant or a stored belief ("actually, we use pnpm").
- preference: how the user likes things done (tools, style, libraries, workflow).
- decision: a choice made for the project, with its rationale when given.
- fact: a stable fact about the user, their environment or project.
Be conservative: when in doubt, extract nothing. Never extract transient task details, things
obvious from the code, questions, plans that were not agreed, or anything the assistant said
that the user did not confirm. Never include credentials or secrets. Most turns yield nothing.
Each lesson: one self-contained statement of one or two sentences (under 300 characters), a
reason quoting what in the conversation shows it is durable, importance 0.3-0.9 (corrections
0.8-0.9), and 5+ search keywords (synonyms, related terms).
Existing memories are listed with their ids. If a lesson says the same as one of them, use
action "duplicate" with its id. If it contradicts one (the user changed their mind, or
corrected it), use action "supersede" with its id and write the full new statement: the old
one is kept as history. If it only refines one (adds detail, still true), use action "update"
with its id and write the full refined statement. Otherwise action "new" with existing_id
null."""


class Lesson(BaseModel):
    kind: Literal["correction", "preference", "decision", "fact"]
    content: str
    reason: str
    importance: float
    keywords: str
    action: Literal["new", "update", "supersede", "duplicate"]
    existing_id: str | None


class Verdict(BaseModel):
    lessons: list[Lesson]


@dataclass
class Judgement:
    verdict: Verdict
    input_tokens: int
    output_tokens: int


class JudgeError(Exception):
    """The judge could not answer (network, API error, unparsable output)."""


def unfit_answer(exc: ValidationError) -> str:
    """What was wrong with an answer, by field: pydantic's own text quotes the values, lessons
    drawn from the conversation, and this message goes to the log and the learn status."""
    return f"the answer did not fit the lesson format: {validation_message(exc)}"


class Judge(Protocol):
    name: str

    async def judge(self, prompt: str) -> Judgement: ...


def build_prompt(existing: list[tuple[str, str, str]], turns: list[tuple[str, str]]) -> str:
    """The user message: existing memories (id, category, content), then the conversation."""
    lines = ["Existing memories that may be related:"]
    lines += [f"[id={mid}] ({cat}) {content}" for mid, cat, content in existing] or ["(none)"]
    lines.append("")
    lines.append("New conversation turns to judge:")
    lines += [f"<{role}>\n{text}\n</{role}>" for role, text in turns]
    return "\n".join(lines)


class ApiJudge:
    """The Anthropic Messages API through the SDK (imported only when used: it is slow)."""

    name = "api"

    def __init__(self, model: str, timeout: float = 60.0) -> None:
        self.model = model
        self.timeout = timeout
        self._client: Any = None

    async def judge(self, prompt: str) -> Judgement:
        import anthropic

        if self._client is None:
            self._client = anthropic.AsyncAnthropic(max_retries=1, timeout=self.timeout)
        try:
            message = await self._client.messages.parse(
                model=self.model,
                max_tokens=2048,
                system=SYSTEM,
                messages=[{"role": "user", "content": prompt}],
                output_format=Verdict,
            )
        except ValidationError as exc:
            raise JudgeError(unfit_answer(exc)) from None
        except (anthropic.APIError, ValueError) as exc:
            raise JudgeError(f"{type(exc).__name__}: {exc}") from None
        usage = message.usage
        parsed = message.parsed_output
        verdict = parsed if isinstance(parsed, Verdict) else Verdict(lessons=[])
        return Judgement(verdict, int(usage.input_tokens), int(usage.output_tokens))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


class CliJudge:
    """`claude -p` headless, with the user's Claude Code login. Hooks, MCP servers and tools
    are off for that call so it cannot recurse into our own hooks."""

    name = "cli"

    def __init__(self, binary: str, model: str, workdir: Path, timeout: float = 120.0) -> None:
        self.binary = binary
        self.model = model
        self.workdir = workdir
        self.timeout = timeout

    async def judge(self, prompt: str) -> Judgement:
        private_dir(self.workdir, "auto-learn's work directory")
        env = {k: v for k, v in os.environ.items() if k != "CLAUDECODE"}
        env["MEMORY_AUTO_LEARN"] = "0"
        proc = await asyncio.create_subprocess_exec(
            self.binary,
            "-p",
            f"{SYSTEM}\n\n{prompt}",
            "--model",
            self.model,
            "--output-format",
            "json",
            "--json-schema",
            json.dumps(Verdict.model_json_schema()),
            "--settings",
            json.dumps({"disableAllHooks": True}),
            "--strict-mcp-config",
            "--tools",
            "",
            "--no-session-persistence",
            cwd=self.workdir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, _err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise JudgeError(f"claude -p did not answer within {self.timeout:.0f}s") from None
        try:
            result = json.loads(out)
            if result.get("is_error"):
                raise JudgeError(f"claude -p failed: {str(result.get('result'))[:200]}")
            verdict = Verdict.model_validate(result.get("structured_output") or {"lessons": []})
        except (ValueError, AttributeError) as exc:
            raise JudgeError(f"claude -p gave no usable answer (exit {proc.returncode})") from exc
        usage = result.get("usage") or {}
        return Judgement(
            verdict,
            int(usage.get("input_tokens", 0)) + int(usage.get("cache_read_input_tokens", 0)),
            int(usage.get("output_tokens", 0)),
        )
