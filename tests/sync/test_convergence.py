"""The centrepiece: three replicas with skewed clocks, one hub, faults, crashes; after healing
and syncing to quiescence every replica holds the same state, and that state is the join of
every op ever emitted.

The hub is the real one: memory_hub's app with its lifespan (asyncpg pool, migrations) on a
real PostgreSQL database, reached over httpx.ASGITransport wrapped in the fault injector, its
clock the examples' true time (so its clock-skew guard is live). The database, the app and
its lifespan are set up once per test, in one event loop the test owns; hypothesis drives the
rules synchronously and each example runs its async work through that loop. Each example
empties the hub's tables and rewinds the true clock, so it starts from a fresh hub. The
`sync-ci` profile is sized for the test budget; SYNC_PROFILE=sync-long runs many more examples
(see docs/sync.md).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from memory_core.errors import NotFound
from memory_core.merge import canonical
from memoryd.store.memories import Change, NewMemory, Patch
from tests.conftest import FakeClock
from tests.hubs import HubHarness, running_hub
from tests.sync.faults import FAULTS
from tests.sync.harness import Replica, SkewedClock

settings.register_profile(
    "sync-ci",
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    database=None,  # the same examples on every run and machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "sync-long",
    max_examples=500,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

WORDS = ["svelte", "postgres", "tabs", "coffee", "berlin", "rust", "vim", "staging"]
N = 3
HOUR = 3_600_000
START_MS = FakeClock().ms


class Convergence(RuleBasedStateMachine):
    entities = Bundle("entities")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, hub: HubHarness[FakeClock], truth: FakeClock
    ) -> None:
        super().__init__()
        self.loop = loop
        # tmpfs when there is one: each example opens three databases, and fsync dominates.
        shm = Path("/dev/shm")
        self.tmp = Path(tempfile.mkdtemp(prefix="conv", dir=shm if shm.is_dir() else None))
        self.truth = truth
        self.truth.ms = START_MS
        self.hub = hub
        self.run(self.hub.reset())
        self.replicas: list[Replica] = []
        # Every op ever emitted (the oracle), and per emitted put the HLCs its replica had
        # already observed on the fields it changed (causality).
        self.ops: list[Change] = []
        self.observed: list[tuple[Change, dict[str, int]]] = []
        self.seen: list[int] = [0] * N

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @initialize(skews=st.lists(st.integers(-3 * HOUR, 9 * 60_000), min_size=N, max_size=N))
    def setup(self, skews: list[int]) -> None:
        for i, skew in enumerate(skews):
            clock = SkewedClock(self.truth, skew)
            replica = Replica(self.tmp / f"r{i}", self.hub.app, clock)
            self.replicas.append(self.run(replica.open()))

    def _collect(self) -> None:
        for replica in self.replicas:
            self.ops.extend(replica.emitted)
            replica.emitted.clear()

    # ------------------------------------------------------------------ writes

    @rule(
        target=entities,
        r=st.integers(0, N - 1),
        words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
        sensitive=st.booleans(),
    )
    def create(self, r: int, words: list[str], sensitive: bool) -> str:
        created = self.run(
            self.replicas[r].store.create(
                NewMemory(" ".join(words), tags=words[:1], force_sensitive=sensitive)
            )
        )
        self._collect()
        return str(created.memory.id)

    @rule(
        r=st.integers(0, N - 1),
        entity=entities,
        field=st.sampled_from(["content", "importance", "tags", "project"]),
        word=st.sampled_from(WORDS),
    )
    def update(self, r: int, entity: str, field: str, word: str) -> None:
        replica = self.replicas[r]
        patch = {
            "content": Patch(content=f"{word} edited on r{r}"),
            "importance": Patch(importance=(WORDS.index(word) + 1) / 10),
            "tags": Patch(tags=[word, f"r{r}"]),
            "project": Patch(project=word),
        }[field]
        try:
            before = self.run(replica.store.get(entity))
        except NotFound:
            # Not here yet: pull (faults permitting) and try once more, so that concurrent
            # edits of one memory on several replicas are common.
            self.run(replica.engine.sync_once())
            try:
                before = self.run(replica.store.get(entity))
            except NotFound:
                return
        self.run(replica.store.update(entity, patch))
        for change in replica.emitted:
            self.observed.append((change, dict(before.field_hlc)))
        self._collect()

    @rule(r=st.integers(0, N - 1), entity=entities)
    def delete(self, r: int, entity: str) -> None:
        try:
            self.run(self.replicas[r].store.delete(entity))
        except NotFound:
            return
        self._collect()

    # ------------------------------------------------------------ network etc

    @rule(r=st.integers(0, N - 1))
    def sync(self, r: int) -> None:
        self.run(self.replicas[r].engine.sync_once())

    @rule()
    def sync_all(self) -> None:
        for replica in self.replicas:
            self.run(replica.engine.sync_once())

    @rule(r=st.integers(0, N - 1), mode=st.sampled_from(FAULTS))
    def set_fault(self, r: int, mode: str) -> None:
        self.replicas[r].transport.mode = mode

    @rule(r=st.integers(0, N - 1))
    def crash_restart(self, r: int) -> None:
        old = self.replicas[r]
        self.run(old.close())
        fresh = Replica(old.dir, self.hub.app, old.clock)
        fresh.transport.mode = old.transport.mode
        self.replicas[r] = self.run(fresh.open())
        assert not fresh.cloned

    @rule(r=st.integers(0, N - 1), delta=st.integers(-2 * HOUR, 2 * 60_000))
    def skew(self, r: int, delta: int) -> None:
        clock = self.replicas[r].clock
        clock.skew_ms = max(-3 * HOUR, min(9 * 60_000, clock.skew_ms + delta))

    @rule(ms=st.integers(0, 120_000))
    def tick(self, ms: int) -> None:
        self.truth.advance(ms)

    # -------------------------------------------------------------- invariants

    @invariant()
    def cursors_within_head(self) -> None:
        head = self.run(self.hub.head())
        for i, replica in enumerate(self.replicas):
            cursor = self.run(replica.engine.cursor())
            assert self.seen[i] <= cursor <= head
            self.seen[i] = cursor

    @precondition(lambda self: bool(self.replicas))
    @invariant()
    def fts_consistent(self) -> None:
        for replica in self.replicas:
            self.run(replica.fts_ok())

    @invariant()
    def later_edits_outrank_what_they_saw(self) -> None:
        for change, before in self.observed:
            for name in change.fields:
                assert change.hlc > before.get(name, -1)

    # ---------------------------------------------------------------- teardown

    def _quiesce(self) -> None:
        for replica in self.replicas:
            replica.transport.mode = "none"
        for _ in range(2 * N + 2):
            results = [self.run(r.engine.sync_once()) for r in self.replicas]
            assert all(r.ok for r in results), results
            if all(r.pushed == r.applied == 0 for r in results):
                break

    def _oracle(self) -> dict[str, Any]:
        deleted = {c.entity_id for c in self.ops if c.kind == "del"}
        state: dict[str, dict[str, tuple[int, str, Any]]] = {}
        for change in self.ops:
            if change.kind != "put" or change.entity_id in deleted:
                continue
            fields = state.setdefault(change.entity_id, {})
            for name, value in change.fields.items():
                key = (change.hlc, canonical(value), value)
                if name not in fields or key[:2] > fields[name][:2]:
                    fields[name] = key
        out: dict[str, Any] = dict.fromkeys(deleted, "deleted")
        for entity, fields in state.items():
            out[entity] = {name: value for name, (_, _, value) in fields.items()}
        return out

    def teardown(self) -> None:
        try:
            if len(self.replicas) == N:
                self._quiesce()
                snapshots = [self.run(r.snapshot()) for r in self.replicas]
                assert snapshots[1] == snapshots[0]
                assert snapshots[2] == snapshots[0]
                oracle = self._oracle()
                assert set(snapshots[0]) == set(oracle)
                for entity, expected in oracle.items():
                    got = snapshots[0][entity]
                    if expected == "deleted":
                        assert got == "deleted", entity  # nothing deleted comes back
                        continue
                    for name, value in expected.items():  # no write lost, LWW by HLC
                        if name != "created_ms":
                            assert got[name] == value, (entity, name)
                for replica in self.replicas:
                    assert self.run(replica.outbox_depth()) == 0
        finally:
            for replica in self.replicas:
                if replica.db._writer is not None:
                    self.run(replica.close())
            shutil.rmtree(self.tmp, ignore_errors=True)


PROFILE = os.environ.get("SYNC_PROFILE", "sync-ci")


@pytest.mark.slow
@pytest.mark.timeout(600 if PROFILE == "sync-ci" else 7200)
def test_replicas_converge_through_the_real_hub(hub_dsn: str) -> None:
    profile = settings.get_profile(PROFILE)
    truth = FakeClock()
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    try:
        hub = loop.run_until_complete(stack.enter_async_context(running_hub(hub_dsn, truth)))
        run_state_machine_as_test(lambda: Convergence(loop, hub, truth), settings=profile)
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()
