"""Hybrid logical clock, packed in one int64: `wall_ms << 16 | counter`.

`send()` stamps a local write; `recv()` folds in a remote stamp so that every later local write
is strictly greater than anything this replica has seen, whatever the wall clocks say.
Pure: the wall clock is injected and persistence is the caller's job.
"""

from __future__ import annotations

from memory_core.clock import Clock

COUNTER_BITS = 16
_COUNTER_MASK = (1 << COUNTER_BITS) - 1


def pack(wall_ms: int, counter: int) -> int:
    return (wall_ms << COUNTER_BITS) | counter


def unpack(value: int) -> tuple[int, int]:
    return value >> COUNTER_BITS, value & _COUNTER_MASK


def wall_ms(value: int) -> int:
    return value >> COUNTER_BITS


class HLC:
    def __init__(self, clock: Clock, last: int = 0) -> None:
        self._clock = clock
        self.last = last

    def _advance(self, floor: int) -> int:
        last_wall, last_counter = unpack(floor)
        now = self._clock.now_ms()
        if now > last_wall:
            return pack(now, 0)
        if last_counter < _COUNTER_MASK:
            return pack(last_wall, last_counter + 1)
        # Counter exhausted within one millisecond: borrow the next millisecond.
        return pack(last_wall + 1, 0)

    def send(self) -> int:
        self.last = self._advance(self.last)
        return self.last

    def recv(self, remote: int) -> int:
        self.last = self._advance(max(self.last, remote))
        return self.last
