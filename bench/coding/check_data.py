"""Validates the coding-memory benchmark's data (memories.jsonl, prompts.jsonl).

    python bench/coding/check_data.py    # prints the counts and every violation; exit 1 if any

Also imported by tests/bench/test_coding_data.py (`violations()` must be empty).

What is checked:

- memories: every field present and well typed; keys unique; category one of the five; content
  non-empty, at most 1,400 characters and unique after folding case and spaces (the daemon
  merges equal content into one memory); `supersedes` names another existing memory, and no
  memory is superseded twice.
- prompts: keys unique; kind one of six; split `dev` or `test`; `needs` lists existing memory
  keys without repeats; empty for `none`, 1-3 keys otherwise, 2-3 for `multi`; a `stale` prompt
  needs at least one memory that supersedes another.
- balance: at least 320 memories, 6 projects, 15 supersedes pairs, 25 prompts of each kind, and
  each kind split between dev and test with either side holding 40-60% of it.
- no lexical help for `paraphrase` and `implicit` prompts, by two rules, both required:

  1. Content words (the documented rule). A text's content words are its lowercase ASCII
     alphanumeric tokens (`[a-z0-9]+`) of length >= 3 that are not in STOPWORDS below, each
     lightly stemmed by `stem()`: `ies` -> `y`; else one of the suffixes `ing`, `ed`, `s` is
     stripped (`s` not after `s`, `u` or `i`) if at least 3 characters remain, and a doubled
     final consonant left by `ing`/`ed` is undoubled (`running` -> `run`); then a final `e` is
     dropped if at least 3 characters remain (`cache`/`caches`/`cached` -> `cach`). A
     paraphrase or implicit prompt must share no content word with the content or the tags of
     any memory it needs.
  2. What the daemon's full-text leg would see. Every word of the prompt (Unicode letters and
     digits, any length, STOPWORDS left out) is looked up in an in-memory SQLite FTS5 table
     holding the needed memories' content and tags under memoryd's own tokenizer (`porter
     unicode61 remove_diacritics 2`). No word may match. This catches what rule 1 lets through:
     two-letter words (`eu`, `ci`), and Porter's stronger stemming (`production` and `product`).
     Skipped if this Python's SQLite lacks FTS5.

  STOPWORDS is a list of English function words and question filler. It is deliberately close
  to memoryd's own recall stopwords, so that a word this check ignores is one the daemon ignores
  too; generic verbs such as `use`, `need` or `make` are content words here.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

HERE = Path(__file__).resolve().parent
MEMORIES = HERE / "memories.jsonl"
PROMPTS = HERE / "prompts.jsonl"

CATEGORIES = ("facts", "preferences", "projects", "people", "decisions")
KINDS = ("lexical", "paraphrase", "implicit", "multi", "stale", "none")
SPLITS = ("dev", "test")
NO_OVERLAP_KINDS = ("paraphrase", "implicit")
MAX_CONTENT = 1400

MIN_MEMORIES = 320
MIN_PROJECTS = 6
MIN_SUPERSEDES = 15
MIN_PER_KIND = 25

_STOPWORD_TEXT = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing don down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    s t ll re ve d m also get got kind type sort think say said like might something anything
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_ASCII_TOKEN = re.compile(r"[a-z0-9]+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # memoryd's tokenizer splits on the same boundaries
_FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"


def stem(token: str) -> str:
    """The light stemming of rule 1 (see the module docstring)."""
    word = token
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    else:
        for suffix in ("ing", "ed", "s"):
            if not word.endswith(suffix) or len(word) - len(suffix) < 3:
                continue
            if suffix == "s" and word[-2] in "sui":
                continue
            word = word[: -len(suffix)]
            if suffix != "s" and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def content_words(text: str) -> set[str]:
    """Rule 1's content words of a text, stemmed."""
    return {
        stem(token)
        for token in _ASCII_TOKEN.findall(text.lower())
        if len(token) >= 3 and token not in STOPWORDS
    }


def query_words(text: str) -> list[str]:
    """Rule 2's words of a prompt: every word, any length, stopwords left out."""
    seen = dict.fromkeys(w for w in _WORD.findall(text.lower()) if w not in STOPWORDS)
    return list(seen)


@dataclass(frozen=True)
class Memory:
    key: str
    content: str
    category: str
    tags: tuple[str, ...]
    project: str | None
    importance: float
    supersedes: str | None

    @property
    def indexed(self) -> str:
        """The text the daemon's full-text index holds for it (content and tags)."""
        return self.content + " " + " ".join(self.tags)


@dataclass(frozen=True)
class Prompt:
    key: str
    text: str
    project: str
    kind: str
    needs: tuple[str, ...]
    split: str
    # What a model would pass as memory_recall's `expanded_query`, written from the prompt
    # alone (never from the needed memories' words); "" for small talk it would not expand.
    expansion: str = ""


R = TypeVar("R", Memory, Prompt)


def _read_jsonl(path: Path) -> list[tuple[int, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            rows.append((number, json.loads(line)))
    return rows


def _record(kind: type[R], row: dict[str, Any]) -> R:
    """A checked row as a record: each field from the row's value of the same name (None
    where an optional one is absent), lists as tuples."""
    values: dict[str, Any] = {}
    for field in fields(kind):
        value = row.get(field.name)
        values[field.name] = tuple(value) if isinstance(value, list) else value
    return kind(**values)


def _memory(row: Any, where: str, problems: list[str]) -> Memory | None:
    if not isinstance(row, dict):
        problems.append(f"{where}: not a JSON object")
        return None
    fields = {"key", "content", "category", "tags", "project", "importance"}
    missing = fields - row.keys()
    extra = row.keys() - fields - {"supersedes"}
    if missing or extra:
        problems.append(f"{where}: missing {sorted(missing)}, unknown {sorted(extra)}")
        return None
    ok = (
        isinstance(row["key"], str)
        and isinstance(row["content"], str)
        and isinstance(row["category"], str)
        and isinstance(row["tags"], list)
        and all(isinstance(t, str) and t and t == t.lower() for t in row["tags"])
        and (row["project"] is None or (isinstance(row["project"], str) and row["project"]))
        and isinstance(row["importance"], int | float)
        and not isinstance(row["importance"], bool)
        and 0 <= row["importance"] <= 1
        and (row.get("supersedes") is None or isinstance(row["supersedes"], str))
    )
    if not ok:
        problems.append(f"{where}: a field has the wrong type or range")
        return None
    return _record(Memory, {**row, "importance": float(row["importance"])})


def _prompt(row: Any, where: str, problems: list[str]) -> Prompt | None:
    if not isinstance(row, dict):
        problems.append(f"{where}: not a JSON object")
        return None
    fields = {"key", "text", "project", "kind", "needs", "split", "expansion"}
    if row.keys() != fields:
        problems.append(
            f"{where}: missing {sorted(fields - row.keys())}, unknown {sorted(row.keys() - fields)}"
        )
        return None
    ok = (
        all(isinstance(row[f], str) and row[f] for f in ("key", "text", "project", "kind"))
        and isinstance(row["split"], str)
        and isinstance(row["expansion"], str)
        and isinstance(row["needs"], list)
        and all(isinstance(n, str) for n in row["needs"])
    )
    if not ok:
        problems.append(f"{where}: a field has the wrong type")
        return None
    return _record(Prompt, row)


def load(
    memories_path: Path = MEMORIES, prompts_path: Path = PROMPTS
) -> tuple[list[Memory], list[Prompt], list[str]]:
    """The parsed data, and the rows that could not be parsed (as violations)."""
    problems: list[str] = []
    memories = [
        m
        for n, row in _read_jsonl(memories_path)
        if (m := _memory(row, f"{memories_path.name}:{n}", problems))
    ]
    prompts = [
        p
        for n, row in _read_jsonl(prompts_path)
        if (p := _prompt(row, f"{prompts_path.name}:{n}", problems))
    ]
    return memories, prompts, problems


def _fts(memories: list[Memory]) -> sqlite3.Connection | None:
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(body, tokenize='{_FTS_TOKENIZER}')")
    except sqlite3.OperationalError:
        conn.close()
        return None
    conn.executemany(
        "INSERT INTO t(rowid, body) VALUES (?, ?)",
        [(i, m.indexed) for i, m in enumerate(memories)],
    )
    return conn


def check(memories: list[Memory], prompts: list[Prompt]) -> list[str]:
    """Every violation of the rules in the module docstring (empty when the data is good)."""
    problems: list[str] = []
    by_key: dict[str, Memory] = {}
    seen_content: dict[str, str] = {}
    for m in memories:
        if m.key in by_key:
            problems.append(f"memory {m.key}: duplicate key")
        by_key[m.key] = m
        if m.category not in CATEGORIES:
            problems.append(f"memory {m.key}: category {m.category!r} not in {CATEGORIES}")
        if not m.content.strip() or len(m.content) > MAX_CONTENT:
            problems.append(f"memory {m.key}: content empty or over {MAX_CONTENT} characters")
        folded = " ".join(m.content.casefold().split())
        if folded in seen_content:
            problems.append(f"memory {m.key}: same content as {seen_content[folded]}")
        seen_content.setdefault(folded, m.key)
    superseded: Counter[str] = Counter()
    for m in memories:
        if m.supersedes is None:
            continue
        superseded[m.supersedes] += 1
        if m.supersedes == m.key or m.supersedes not in by_key:
            problems.append(f"memory {m.key}: supersedes unknown memory {m.supersedes!r}")
    problems += [f"memory {k}: superseded {n} times" for k, n in superseded.items() if n > 1]

    prompt_keys: set[str] = set()
    for p in prompts:
        if p.key in prompt_keys:
            problems.append(f"prompt {p.key}: duplicate key")
        prompt_keys.add(p.key)
        if p.kind not in KINDS:
            problems.append(f"prompt {p.key}: kind {p.kind!r} not in {KINDS}")
        if p.split not in SPLITS:
            problems.append(f"prompt {p.key}: split {p.split!r} not in {SPLITS}")
        unknown = [k for k in p.needs if k not in by_key]
        if unknown:
            problems.append(f"prompt {p.key}: needs unknown memories {unknown}")
        if len(set(p.needs)) != len(p.needs):
            problems.append(f"prompt {p.key}: needs a memory twice")
        if p.kind == "none" and p.needs:
            problems.append(f"prompt {p.key}: kind none needs nothing")
        if p.kind != "none" and not 1 <= len(p.needs) <= 3:
            problems.append(f"prompt {p.key}: needs 1-3 memories, has {len(p.needs)}")
        if p.kind == "multi" and len(p.needs) < 2:
            problems.append(f"prompt {p.key}: kind multi needs 2-3 memories")
        if p.kind == "stale" and not any(k in by_key and by_key[k].supersedes for k in p.needs):
            problems.append(f"prompt {p.key}: kind stale needs a memory that supersedes another")

    problems += _balance(memories, prompts)
    problems += _overlaps(by_key, prompts)
    return problems


def _balance(memories: list[Memory], prompts: list[Prompt]) -> list[str]:
    problems = []
    projects = {m.project for m in memories if m.project}
    pairs = sum(1 for m in memories if m.supersedes)
    if len(memories) < MIN_MEMORIES:
        problems.append(f"{len(memories)} memories, want at least {MIN_MEMORIES}")
    if len(projects) < MIN_PROJECTS:
        problems.append(f"{len(projects)} projects, want at least {MIN_PROJECTS}")
    if pairs < MIN_SUPERSEDES:
        problems.append(f"{pairs} supersedes pairs, want at least {MIN_SUPERSEDES}")
    for kind in KINDS:
        of_kind = [p for p in prompts if p.kind == kind]
        if len(of_kind) < MIN_PER_KIND:
            problems.append(f"{len(of_kind)} {kind} prompts, want at least {MIN_PER_KIND}")
        dev = sum(1 for p in of_kind if p.split == "dev")
        if of_kind and not 0.4 <= dev / len(of_kind) <= 0.6:
            problems.append(f"kind {kind}: {dev} of {len(of_kind)} prompts in dev, want 40-60%")
    return problems


def _overlaps(by_key: dict[str, Memory], prompts: list[Prompt]) -> list[str]:
    problems = []
    needed = sorted({k for p in prompts if p.kind in NO_OVERLAP_KINDS for k in p.needs})
    needed = [k for k in needed if k in by_key]
    conn = _fts([by_key[k] for k in needed])
    rowid = {k: i for i, k in enumerate(needed)}
    try:
        for p in prompts:
            if p.kind not in NO_OVERLAP_KINDS:
                continue
            mine = content_words(p.text)
            for key in p.needs:
                if key not in by_key:
                    continue
                shared = mine & content_words(by_key[key].indexed)
                if shared:
                    problems.append(
                        f"prompt {p.key} ({p.kind}): shares content words {sorted(shared)} "
                        f"with {key}"
                    )
            if conn is None:
                continue
            rows = {rowid[k] for k in p.needs if k in rowid}
            for word in query_words(p.text):
                quoted = '"' + word.replace('"', '""') + '"'
                hits = {r for (r,) in conn.execute("SELECT rowid FROM t WHERE t MATCH ?", [quoted])}
                for r in sorted(hits & rows):
                    problems.append(
                        f"prompt {p.key} ({p.kind}): the word {word!r} matches {needed[r]} "
                        "in the full-text index"
                    )
    finally:
        if conn is not None:
            conn.close()
    return problems


def violations(memories_path: Path = MEMORIES, prompts_path: Path = PROMPTS) -> list[str]:
    memories, prompts, problems = load(memories_path, prompts_path)
    return problems + check(memories, prompts)


def counts(memories: list[Memory], prompts: list[Prompt]) -> dict[str, Any]:
    per_kind: dict[str, dict[str, int]] = {k: {"dev": 0, "test": 0} for k in KINDS}
    for p in prompts:
        per_kind.setdefault(p.kind, {"dev": 0, "test": 0})[p.split] = (
            per_kind.get(p.kind, {}).get(p.split, 0) + 1
        )
    return {
        "memories": len(memories),
        "by_category": dict(Counter(m.category for m in memories)),
        "by_project": dict(Counter(m.project or "(global)" for m in memories)),
        "supersedes_pairs": sum(1 for m in memories if m.supersedes),
        "prompts": len(prompts),
        "prompts_by_kind": per_kind,
    }


def main() -> int:
    memories, prompts, problems = load()
    problems += check(memories, prompts)
    print(json.dumps(counts(memories, prompts), indent=2))
    for problem in problems:
        print(problem)
    print(f"{len(problems)} violations")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
