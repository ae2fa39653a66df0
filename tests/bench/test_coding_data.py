"""The coding-memory benchmark's data (bench/coding) obeys its own rules: see
bench/coding/check_data.py for what is checked (keys, references, balance, and no shared content
word between a paraphrase or implicit prompt and the memories it needs)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

CHECKER = Path(__file__).resolve().parents[2] / "bench" / "coding" / "check_data.py"


@pytest.fixture(scope="module")
def cache_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Overrides tests/conftest.py's session-wide autouse fixture of that name for this module:
    these tests start no daemon, so they need not wait for the semantic leg's query model
    build (seconds) that it does up front."""
    return tmp_path_factory.mktemp("xdg-cache")


def load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_coding_check_data", CHECKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


def test_coding_benchmark_data_has_no_violations() -> None:
    checker = load_checker()
    assert checker.violations() == []


def test_checker_catches_a_shared_content_word() -> None:
    checker = load_checker()
    memories, prompts, problems = checker.load()
    assert problems == []
    paraphrase = next(p for p in prompts if p.kind == "paraphrase")
    needed = next(m for m in memories if m.key == paraphrase.needs[0])
    word = sorted(checker.content_words(needed.content))[0]
    leaky = checker.Prompt(
        paraphrase.key,
        f"{paraphrase.text} {word}",
        paraphrase.project,
        paraphrase.kind,
        paraphrase.needs,
        paraphrase.split,
    )
    found = checker.check(memories, [leaky if p is paraphrase else p for p in prompts])
    assert any(paraphrase.key in v and "shares content words" in v for v in found)


def test_light_stemming_rule() -> None:
    checker = load_checker()
    stems = {w: checker.stem(w) for w in ("caches", "cached", "running", "policies", "class")}
    assert stems == {
        "caches": "cach",
        "cached": "cach",
        "running": "run",
        "policies": "policy",
        "class": "class",
    }


def test_every_prompt_carries_an_expansion_and_a_row_without_one_is_reported(
    tmp_path: Path,
) -> None:
    """run.py's x@10 recalls each prompt with its `expansion` as `expanded_query`: a prompt
    that needs memories has one (small talk may have ""), and a row lacking the field is a
    violation, not a silent "" (the checker requires every field)."""
    checker = load_checker()
    _, prompts, problems = checker.load()
    assert problems == []
    assert all(p.expansion.strip() for p in prompts if p.needs)
    rows = checker.PROMPTS.read_text(encoding="utf-8").splitlines()
    broken = tmp_path / "prompts.jsonl"
    broken.write_text("\n".join([rows[0].replace(', "expansion":', ', "expansion_":'), *rows[1:]]))
    _, _, problems = checker.load(prompts_path=broken)
    assert any("expansion" in p for p in problems)
