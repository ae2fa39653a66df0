"""Reader connections: aiosqlite's, plus `batch`, which runs several statements (and the Python
between them) in one hand-off to the connection's thread.

Every aiosqlite call travels to the connection's thread and back: a queue put that wakes the
thread, the GIL changing hands, and a wake-up of the event loop through its self-pipe with
the answer (writer.py measures 50-100 µs a hop; more than most statements a recall sends). A
recall sent four to nine of them. `batch(work)` sends `work` itself instead: on the
connection's thread, each of its statements runs at once, so the coroutine finishes without
ever suspending and the loop hears from the thread once. `work` must await nothing but this
connection's calls (no other task, no sleep, no other connection): a suspension there is a
programming error, raised as RuntimeError.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

import aiosqlite

T = TypeVar("T")
_ITER_CHUNK = 64  # aiosqlite's default rows per fetch when a cursor is iterated


class ReaderConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls made on its own thread (inside `batch`) run there
    at once instead of being queued to that same thread."""

    def __init__(self, path: Path) -> None:
        super().__init__(partial(sqlite3.connect, path, isolation_level=None), _ITER_CHUNK)
        # The thread running a batch (None: none runs). Compared with the caller's thread,
        # so that a call from the loop's thread is queued as usual even while a batch runs
        # (a request cancelled meanwhile may have handed the connection on).
        self._batch_thread: int | None = None

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._batch_thread == threading.get_ident():
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    async def batch(self, work: Callable[[aiosqlite.Connection], Coroutine[Any, Any, T]]) -> T:
        """`await work(self)`, run whole on the connection's thread in one hand-off. Whatever
        `work` raises is raised here, on the caller's side."""

        def run() -> _Outcome[T]:
            self._batch_thread = threading.get_ident()
            try:
                return _Outcome(_complete(work(self)))
            except BaseException as exc:
                # Returned, not raised: aiosqlite's thread hands a raised exception to the
                # caller's future, which refuses some (a StopIteration, from `work`'s own
                # synchronous part): the future then never completed and the recall waited
                # forever.
                return _Outcome(None, exc)
            finally:
                self._batch_thread = None

        outcome: _Outcome[T] = await super()._execute(run)  # type: ignore[no-untyped-call]
        if outcome.error is not None:
            error = outcome.error
            if isinstance(error, StopIteration):  # a coroutine may not raise one (PEP 479)
                raise RuntimeError("a reader batch raised StopIteration") from error
            raise error
        return outcome.value  # type: ignore[return-value]


@dataclass(frozen=True)
class _Outcome(Generic[T]):
    """What a batch ended with, carried back to the loop's thread: its value, or what it
    raised."""

    value: T | None
    error: BaseException | None = None


def _complete(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never suspends, driven to its end on this thread."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coroutine.close()
    raise RuntimeError("a reader batch awaited something other than its connection")
