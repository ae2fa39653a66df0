"""The prompt hook's relevance floor, hooks as real processes against a real daemon (semantic
leg as installed): small talk and prompts about nothing stored inject nothing; a prompt about
a stored memory still gets it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory_core.model import Memory
from memory_core.recall.ranking import standout
from memoryd.sessions import floor
from memoryd.store.records import Evidence, Recalled
from tests.hooks.helpers import for_daemon, prompt_event, run_hook
from tests.support import Daemon, running_daemon

# Memories that share an incidental word with small talk: "worked" stems to "work", "tests",
# "meeting", "autumn", "leaves", "today".
MEMORIES = [
    "I work 8:30-17:00 CET and keep Wednesday mornings free of meetings",
    "fieldkit must work offline: data lives in Room and syncs when the connection returns",
    "shopfront unit tests use Vitest; the end-to-end tests use Playwright against a mock API",
    "Python code must be fully type hinted and pass mypy --strict",
    "Flux was replaced by Argo CD last autumn; the HelmRelease files are obsolete",
    "Outbound traffic from the clusters leaves through NAT gateways with fixed IPs",
    "The daily harvest run starts at 04:00 UTC and dashboards are fresh by 06:00 today",
    "Kubernetes namespaces are named after the repository, one per service",
]

SMALL_TALK = [
    "thanks, that worked!",
    "Nice, the tests pass now.",
    "Sorry, I was in a meeting. Where were we?",
    "That's all for today, see you tomorrow.",
    "Write a haiku about autumn leaves.",
    "How do I exit vim without saving?",
    "Explain the difference between TCP and UDP.",
]


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    with running_daemon(MEMORY_AUTO_LEARN="0") as running:
        client = running.client()
        for content in MEMORIES:
            assert client.post("/api/memories", json={"content": content}).status_code == 201
        yield running


@pytest.fixture
def cwd(tmp_path: Path) -> str:
    (tmp_path / "shopfront" / ".git").mkdir(parents=True)
    return str(tmp_path / "shopfront")


@pytest.mark.parametrize("prompt", SMALL_TALK)
def test_small_talk_injects_nothing(daemon: Daemon, cwd: str, prompt: str) -> None:
    run = run_hook("prompt", prompt_event(f"s-{prompt[:12]}", prompt, cwd), for_daemon(daemon))
    assert run.returncode == 0, run.stderr
    assert run.stdout == "", run.context()


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Which framework do the shopfront end-to-end tests use?", "Playwright"),
        ("What replaced Flux for deploys?", "Argo CD"),  # two of its three words
        ("Kubernetes namespaces?", "named after the repository"),  # the prompt's only words
    ],
)
def test_a_prompt_about_a_stored_memory_still_gets_it(
    daemon: Daemon, cwd: str, prompt: str, expected: str
) -> None:
    run = run_hook("prompt", prompt_event(f"s-{prompt[:12]}", prompt, cwd), for_daemon(daemon))
    assert expected in run.context()
    assert "Wednesday mornings" not in run.context()


def test_a_long_prompt_needs_three_of_its_words(daemon: Daemon, cwd: str) -> None:
    # Two words ("offline", "connection") of a long prompt are a coincidence, not a topic.
    prompt = (
        "My home connection keeps dropping while I stream music offline on the train, the "
        "router blinks orange, and the provider's support line never answers: any advice?"
    )
    run = run_hook("prompt", prompt_event("s-long", prompt, cwd), for_daemon(daemon))
    assert "fieldkit" not in run.context()


def _hit(score: float, matched: int, covered: float, standout: float | None = None) -> Recalled:
    evidence = Evidence(covered=covered, matched=matched, cosine=None, standout=standout)
    return Recalled(Memory.blank(f"{matched}-{covered}-{standout}"), score, evidence)


def test_the_floor_asks_for_words_or_a_similarity_that_stands_out() -> None:
    best = _hit(1.0, 3, 0.6)
    kept = floor.relevant(
        [
            best,
            _hit(0.6, 2, 0.4),  # two words, 40% of the prompt's
            _hit(0.6, 2, 0.2),  # two words of a long prompt: not enough
            _hit(0.3, 3, 0.6),  # enough words, but far below the best match
            _hit(0.2, 0, 0.0, standout=1.5),  # no shared word, but semantically close
            _hit(0.9, 1, 0.5, standout=0.4),  # one word of two, and an ordinary similarity
            _hit(0.9, 1, 1.0),  # the one word of a one-word prompt
        ]
    )
    assert [(r.score, r.evidence.matched) for r in kept] == [(1.0, 3), (0.6, 2), (0.2, 0), (0.9, 1)]


def test_a_superseded_memory_never_passes() -> None:
    old = _hit(1.0, 3, 1.0)
    replaced = Recalled(old.memory, old.score, Evidence(1.0, 3, None, superseded_by="new"))
    assert floor.relevant([replaced]) == []


def test_standout_calibrates_a_cosine_against_the_query_and_the_store_size() -> None:
    # The same standard score means less in a larger store, where chance reaches further.
    small = standout(0.5, (0.1, 0.08, 300))
    large = standout(0.5, (0.1, 0.08, 10_000))
    assert small is not None and large is not None and small > large
    assert round(small, 2) == round(5.0 - math.sqrt(2 * math.log(300)), 2)
    assert standout(0.5, (0.1, 0.0, 300)) is None and standout(0.5, (0.1, 0.1, 1)) is None
