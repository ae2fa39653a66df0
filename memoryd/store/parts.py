"""What the store's jobs (writes, replication, import) use of the store."""

from __future__ import annotations

from typing import Protocol

from memory_core.clock import Clock
from memory_core.crypto.aead import Cipher
from memory_core.hlc import HLC
from memoryd.store.db import Database
from memoryd.store.records import ChangeSink


class StoreParts(Protocol):
    """The store's parts, read at each call and never copied: the sink that sees each
    change (sync's outbox) may be attached after the store is built."""

    @property
    def db(self) -> Database: ...

    @property
    def cipher(self) -> Cipher: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def hlc(self) -> HLC: ...

    @property
    def max_content_chars(self) -> int: ...

    @property
    def on_change(self) -> ChangeSink | None: ...
