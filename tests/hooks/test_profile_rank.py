"""The profile's weighing, a pure function: importance, category, use, age and scope."""

from __future__ import annotations

import random
import re
import time

from memory_core.model import Memory
from memoryd.sessions.profile import GLOBAL, OTHER_PROJECT, THIS_PROJECT, rank, scope

NOW = 1_790_000_000_000
DAY = 86_400_000


def memory(key: str, content: str, category: str, project: str | None, **fields: object) -> Memory:
    out = Memory.blank(key, content=content, category=category, created_ms=NOW)
    out.project = project
    out.importance = 0.8
    for name, value in fields.items():
        setattr(out, name, value)
    return out


def order(candidates: list[tuple[Memory, int]], project: str | None = "ledger") -> list[str]:
    return [w.memory.id for w in rank(candidates, project, ["ledger", "lumen"], NOW)]


def test_standing_rules_then_own_facts_then_global_then_other_projects_business() -> None:
    rule = memory("rule", "Amounts are int64 minor units", "decisions", "ledger")
    fact = memory("fact", "ledger supports EUR and GBP", "facts", "ledger")
    plain = memory("plain", "Mehdi signs off public endpoints", "people", None)
    about_this = memory("this", "Priya owns ledger and reviews its schema", "people", None)
    elsewhere = memory("other", "Jonas built lumen", "people", None)
    ranked = order([(m, 0) for m in (elsewhere, plain, fact, about_this, rule)])
    assert ranked == ["rule", "this", "fact", "plain", "other"]
    # Without a project, nothing is another project's business more than any other's.
    assert order([(elsewhere, 0), (plain, 0)], project=None)[0] == "plain"


def test_use_lifts_a_memory_and_age_lowers_it() -> None:
    a = memory("a", "runbooks live in docs/runbooks", "facts", "ledger")
    b = memory("b", "the state bucket is kestrel-tfstate", "facts", "ledger")
    assert order([(a, 0), (b, 0)]) == ["a", "b"]  # ties keep the store's order
    assert order([(a, 0), (b, 3)]) == ["b", "a"]
    old = memory(
        "old", "runbooks live in docs/runbooks", "facts", "ledger", updated_ms=NOW - 900 * DAY
    )
    assert order([(old, 0), (b, 0)]) == ["b", "old"]
    # Importance still leads: a much more important memory beats one used a little.
    key = memory("key", "never log card numbers", "facts", "ledger", importance=1.0)
    assert order([(b, 2), (key, 0)])[0] == "key"


def test_a_global_memory_names_another_project_only_as_a_whole_word() -> None:
    # One pattern for every project finds a name wherever a pattern per project would: also
    # where a longer name fails its boundary at the same place ("lumen-x" in "lumen-xy").
    projects = ["lumen", "lumen-xy", "ledger", "kas"]
    cases = {
        "Jonas built lumen-x and lumen-xy": OTHER_PROJECT,
        "Jonas built lumen-x": GLOBAL,
        "the kasbah and lumens": GLOBAL,
        "Kas owns deploys": OTHER_PROJECT,
        "Priya owns ledger": THIS_PROJECT,
    }
    for content, expected in cases.items():
        got = scope(memory("m", content, "people", None), "ledger", projects)
        assert got == expected, content


def test_weighing_the_global_memories_is_one_search_each_however_many_projects() -> None:
    # A search per project and memory took 0.6 s of every SessionStart with 400 projects
    # (bench/scale_bench.py); 2,000 projects and 500 memories took seconds.
    projects = [f"project-{n}" for n in range(2000)]
    candidates = [
        (memory(str(n), f"note {n} about the build of project-{n * 7}", "facts", None), 0)
        for n in range(500)
    ]
    started = time.perf_counter()
    ranked = rank(candidates, "project-3", projects, NOW)
    assert time.perf_counter() - started < 1.0
    assert len(ranked) == 500


def test_a_project_is_named_exactly_where_its_own_pattern_finds_it() -> None:
    # Names of word characters and dashes are looked up among the text's runs of them; others
    # (a dot, a space, a dash at an end) by a pattern. Either way, as one pattern per project.
    projects = ["lumen", "lumen-xy", "api.v2", "my app", "-edge", "ünïcode", "k8s_ops", "x"]
    rng = random.Random(3)
    pieces = [*projects, "LUMEN", "lumen-x", "lumens", "api", "v2", "app", "ÜNÏCODE", "_", "-"]
    pieces += [" ", ".", ",", "/", "(", ")", "-", "a", "9"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        chosen = tuple(rng.sample(projects, rng.randint(1, len(projects))))
        lowered = text.lower()
        named = any(
            re.search(rf"(?<![\w-]){re.escape(p.lower())}(?![\w-])", lowered) for p in chosen
        )
        got = scope(memory("m", text, "people", None), None, chosen)
        assert got == (OTHER_PROJECT if named else GLOBAL), (text, chosen)
