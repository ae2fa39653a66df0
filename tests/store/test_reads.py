"""`most_important`: what the session hooks inject unasked, asked of the store."""

from __future__ import annotations

from typing import Any

from memoryd.store.memories import MemoryStore, NewMemory
from tests.conftest import FakeClock


async def _store(store: MemoryStore, content: str, **fields: Any) -> str:
    return (await store.create(NewMemory(content=content, **fields))).memory.id


async def test_a_project_digest_puts_the_project_first_then_the_global_ones(
    store: MemoryStore, clock: FakeClock
) -> None:
    global_pref = await _store(store, "tabs over spaces", category="preferences", importance=0.9)
    clock.advance(1)
    own = await _store(
        store, "use pnpm here", category="preferences", project="web", importance=0.2
    )
    clock.advance(1)
    own_newer = await _store(
        store, "deploy on fridays", category="decisions", project="web", importance=0.2
    )
    await _store(store, "other project's rule", category="preferences", project="api")
    await _store(store, "a plain fact", category="facts", project="web", importance=1.0)
    await _store(store, "token ghp_" + "a" * 36, category="preferences", project="web")
    deleted = await _store(store, "an abandoned rule", category="decisions", project="web")
    await store.delete(deleted)

    digest = await store.most_important(
        "web", 8, categories=("preferences", "decisions"), with_global=True
    )
    assert [m.id for m in digest] == [own_newer, own, global_pref]
    assert not any(m.is_sensitive for m in digest)

    without_project = await store.most_important(
        None, 8, categories=("preferences", "decisions"), with_global=True
    )
    assert [m.id for m in without_project] == [global_pref]


async def test_a_project_top_holds_only_that_project_most_important_first(
    store: MemoryStore,
) -> None:
    low = await _store(store, "minor web note", project="web", importance=0.1)
    high = await _store(store, "major web note", project="web", importance=0.9)
    unscoped = await _store(store, "a global note", importance=1.0)
    await _store(store, "an api note", project="api", importance=1.0)

    assert [m.id for m in await store.most_important("web", 10)] == [high, low]
    assert [m.id for m in await store.most_important("web", 1)] == [high]
    assert [m.id for m in await store.most_important(None, 10)] == [unscoped]
