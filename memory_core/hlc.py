"""Hybrid logical clock, packed in one int64: `wall_ms << 16 | counter`.

`send()` stamps a local write; `recv()` folds in a remote stamp so that every later local write
is strictly greater than anything this replica has seen, whatever the wall clocks say.
Pure: the wall clock is injected and persistence is the caller's job.
"""

from __future__ import annotations

from memory_core.clock import Clock
from memory_core.errors import InvalidInput

COUNTER_BITS = 16
_COUNTER_MASK = (1 << COUNTER_BITS) - 1
# The largest stamp a replica accepts from elsewhere. It leaves 2^32 stamps (65 s of wall
# time) below int64's limit: a clock moved past it cannot overflow the column it is kept in.
MAX_HLC = (1 << 63) - (1 << 32)


def pack(wall_ms: int, counter: int) -> int:
    return (wall_ms << COUNTER_BITS) | counter


def unpack(value: int) -> tuple[int, int]:
    return value >> COUNTER_BITS, value & _COUNTER_MASK


def wall_ms(value: int) -> int:
    return value >> COUNTER_BITS


def check_remote(value: int) -> int:
    """A stamp from another replica, refused (InvalidInput) unless within [0, MAX_HLC]."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_HLC:
        raise InvalidInput(f"hlc must be an integer from 0 to {MAX_HLC}")
    return value


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
        self.last = self._advance(max(self.last, check_remote(remote)))
        return self.last
