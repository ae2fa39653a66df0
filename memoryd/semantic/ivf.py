"""The approximate index's file: an inverted file (IVF) of int8 vectors, kept next to the
database and read a list at a time, never whole.

Layout, after a JSON header padded to HEADER bytes (all little-endian, each array 64-byte
aligned): the coarse centroids (lists x dimensions, float32, unit length, in the space the
query is searched in: index.Projection's); where each list starts (lists + 1, int64); the rows
grouped by list: their rowids (int64), their scales (float32) and their int8 codes (rows x
dimensions: a vector is code * scale, one scale a row, its largest component at +-127); the
rowids sorted with the row each is at (to find any memory's vector, for recall's lexical
candidates); and the sum and second moment of all the vectors (float64), from which any query's
mean and spread of similarities over the whole index follow exactly (index.Hits.spread). The
header also says how many rows the lists were made for ("trained"; a fold keeps the old file's,
ivf_fold.foldable); files written before it was recorded count their rows.

A search reads the centroids, rowids, scales and moments once (when the file is opened: ~35 MB
at a million rows), then, per query, only the codes of the `nprobe` lists nearest the query
(preadv, so they live in the page cache, not in the daemon's memory). The file is written whole to a
temporary name and renamed (ivf_build.py); the header's checksum covers what is read at open,
and `open` refuses a file that is short, of another model or damaged (SidecarInvalid): the
caller then builds it again.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

MAGIC = "memoryd-ivf"
VERSION = 1
HEADER = 4096
ALIGN = 64
# Rows converted and multiplied at a time: their float32 values stay in the L2 cache (measured:
# twice as fast as blocks of 4,096).
BLOCK = 512

Floats = npt.NDArray[np.float32]
Rowids = npt.NDArray[np.int64]


class SidecarInvalid(Exception):
    """The file is missing, short, of another model or format, or damaged: build it again."""


@dataclass(frozen=True)
class Layout:
    """Where each array lies in the file, from the sizes the header gives."""

    rows: int
    lists: int
    dims: int

    def arrays(self) -> dict[str, tuple[int, np.dtype[Any], tuple[int, ...]]]:
        shapes: list[tuple[str, np.dtype[Any], tuple[int, ...]]] = [
            ("centroids", np.dtype("<f4"), (self.lists, self.dims)),
            ("starts", np.dtype("<i8"), (self.lists + 1,)),
            ("rowids", np.dtype("<i8"), (self.rows,)),
            ("scales", np.dtype("<f4"), (self.rows,)),
            ("codes", np.dtype("i1"), (self.rows, self.dims)),
            ("sorted_rowids", np.dtype("<i8"), (self.rows,)),
            ("sorted_slots", np.dtype("<i8"), (self.rows,)),
            ("total", np.dtype("<f8"), (self.dims,)),
            ("moment", np.dtype("<f8"), (self.dims, self.dims)),
        ]
        out = {}
        offset = HEADER
        for name, dtype, shape in shapes:
            out[name] = (offset, dtype, shape)
            size = int(np.prod(shape)) * dtype.itemsize
            offset += -(-size // ALIGN) * ALIGN
        out["end"] = (offset, np.dtype("i1"), (0,))
        return out

    def size(self) -> int:
        return self.arrays()["end"][0]


# Read when the file is opened (and covered by the header's checksum); the codes per query.
OPENED = (
    "centroids",
    "starts",
    "rowids",
    "scales",
    "sorted_rowids",
    "sorted_slots",
    "total",
    "moment",
)


def checksum(arrays: dict[str, np.ndarray]) -> int:
    crc = 0
    for name in OPENED:
        crc = zlib.crc32(np.ascontiguousarray(arrays[name]).data.cast("B"), crc)
    return crc


def header(layout: Layout, model: str, crc: int, trained: int) -> bytes:
    """`trained`: how many rows the lists were made for (a fold keeps its file's lists)."""
    text = json.dumps(
        {
            "magic": MAGIC,
            "version": VERSION,
            "model": model,
            "rows": layout.rows,
            "lists": layout.lists,
            "dims": layout.dims,
            "trained": trained,
            "crc32": crc,
        }
    ).encode()
    if len(text) >= HEADER:
        raise ValueError("model id too long for the index header")
    return text.ljust(HEADER, b" ")


def quantize(vectors: Floats) -> tuple[npt.NDArray[np.int8], Floats]:
    """Each row as int8 codes and one scale: its largest component maps to +-127."""
    peak = np.abs(vectors).max(axis=1)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    codes = np.rint(vectors / scales[:, None]).clip(-127, 127).astype(np.int8)
    return codes, scales


class IvfFile:
    """An opened index file: what a search needs in memory, the lists read on demand."""

    def __init__(
        self,
        path: Path,
        fd: int,
        layout: Layout,
        arrays: dict[str, np.ndarray],
        trained: int | None = None,
    ):
        self.path = path
        self.layout = layout
        # The rows the lists were made for (ivf_fold.foldable); files written before the
        # header said so: their rows.
        self.trained = layout.rows if trained is None else trained
        self._fd = fd
        self._offsets = layout.arrays()
        self.centroids: Floats = arrays["centroids"]
        self.starts: Rowids = arrays["starts"]
        self.rowids: Rowids = arrays["rowids"]
        self.scales: Floats = arrays["scales"]
        self.sorted_rowids: Rowids = arrays["sorted_rowids"]
        self.sorted_slots: Rowids = arrays["sorted_slots"]
        self.total: npt.NDArray[np.float64] = arrays["total"]
        self.moment: npt.NDArray[np.float64] = arrays["moment"]
        self._local = threading.local()  # per searching thread: scratch buffers (_scratch)
        # Closed when the last search holding this file lets go of it (a rebuild replaces the
        # file while searches in threads may still read the old one).
        weakref.finalize(self, os.close, fd)

    @property
    def rows(self) -> int:
        return self.layout.rows

    @classmethod
    def open(cls, path: Path, model: str, dims: int) -> IvfFile:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise SidecarInvalid(f"{path}: {exc.strerror}") from exc
        try:
            return cls._opened(path, fd, model, dims)
        except BaseException:
            os.close(fd)
            raise

    @classmethod
    def _opened(cls, path: Path, fd: int, model: str, dims: int) -> IvfFile:
        try:
            meta = json.loads(os.pread(fd, HEADER, 0))
            layout = Layout(int(meta["rows"]), int(meta["lists"]), int(meta["dims"]))
            trained = int(meta.get("trained", layout.rows))
            valid = (
                meta["magic"] == MAGIC
                and meta["version"] == VERSION
                and meta["model"] == model
                and layout.dims == dims
                and layout.rows > 0
                and layout.lists > 0
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise SidecarInvalid(f"{path}: unreadable header ({exc})") from exc
        if not valid:
            raise SidecarInvalid(f"{path}: another model, format or size")
        if os.fstat(fd).st_size != layout.size():
            raise SidecarInvalid(f"{path}: {os.fstat(fd).st_size} bytes, not {layout.size()}")
        offsets = layout.arrays()
        arrays = {}
        for name in OPENED:
            offset, dtype, shape = offsets[name]
            raw = os.pread(fd, int(np.prod(shape)) * dtype.itemsize, offset)
            arrays[name] = np.frombuffer(raw, dtype=dtype).reshape(shape)
        if checksum(arrays) != meta["crc32"]:
            raise SidecarInvalid(f"{path}: checksum mismatch")
        starts = arrays["starts"]
        if starts[0] != 0 or starts[-1] != layout.rows or np.any(np.diff(starts) < 0):
            raise SidecarInvalid(f"{path}: inconsistent lists")
        return cls(path, fd, layout, arrays, trained)

    def _read(self, name: str, first: int, count: int) -> np.ndarray:
        offset, dtype, shape = self._offsets[name]
        width = int(np.prod(shape[1:])) * dtype.itemsize
        try:
            raw = os.pread(self._fd, count * width, offset + first * width)
        except OSError as exc:
            raise SidecarInvalid(f"{self.path}: {exc.strerror}") from exc
        if len(raw) != count * width:
            raise SidecarInvalid(f"{self.path}: truncated while in use")
        return np.frombuffer(raw, dtype=dtype).reshape((count, *shape[1:]))

    def probe(self, searched: Floats, nprobe: int, k: int, masked: Rowids) -> tuple[Rowids, Floats]:
        """The k best rows of the `nprobe` lists whose centroids are nearest the query, and
        their products with it (before any offset), leaving out the rows at `masked` (file
        positions, sorted). Lists next to each other in the file are read at once; the codes
        are converted and multiplied a block at a time."""
        nearness = self.centroids @ searched
        nprobe = min(nprobe, len(nearness))
        chosen = np.sort(np.argpartition(-nearness, nprobe - 1)[:nprobe])
        firsts, ends = self.starts[chosen], self.starts[chosen + 1]
        # Runs of lists adjacent in the file become one read.
        joined = np.concatenate([[True], firsts[1:] != ends[:-1]])
        run_firsts = firsts[joined]
        run_ends = np.concatenate([ends[np.nonzero(joined)[0][1:] - 1], ends[-1:]])
        counts = run_ends - run_firsts
        total = int(counts.sum())
        dims = self.layout.dims
        codes, floats = self._scratch()
        raw = np.empty(total, np.float32)
        offset = self._offsets["codes"][0]
        filled = done = 0
        for first, count in zip(run_firsts.tolist(), counts.tolist(), strict=True):
            while count:
                take = min(count, BLOCK - filled)
                self._read_into(codes[filled : filled + take], offset + first * dims)
                filled, first, count = filled + take, first + take, count - take
                if filled == BLOCK or done + filled == total:
                    # Converted into a buffer this thread reuses: a fresh 100 MB array a query
                    # cost more in page faults than the product itself.
                    np.copyto(floats[:filled], codes[:filled], casting="unsafe")
                    np.matmul(floats[:filled], searched, out=raw[done : done + filled])
                    done, filled = done + filled, 0
        slots = np.repeat(run_firsts - np.cumsum(counts) + counts, counts) + np.arange(total)
        raw *= self.scales[slots]
        if len(masked):
            raw[np.isin(slots, masked)] = -np.inf
        k = min(k, total)
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        best = np.argpartition(-raw, k - 1)[:k]
        best = best[np.isfinite(raw[best])]
        return self.rowids[slots[best]], raw[best]

    def _scratch(self) -> tuple[npt.NDArray[np.int8], Floats]:
        """This thread's buffers for a block of codes and their float32 values."""
        held = getattr(self._local, "buffers", None)
        if held is None:
            dims = self.layout.dims
            held = (np.empty((BLOCK, dims), np.int8), np.empty((BLOCK, dims), np.float32))
            self._local.buffers = held
        return held

    def _read_into(self, buffer: npt.NDArray[np.int8], offset: int) -> None:
        view = memoryview(buffer.data).cast("B")
        try:
            read = os.preadv(self._fd, [view], offset)
        except OSError as exc:
            raise SidecarInvalid(f"{self.path}: {exc.strerror}") from exc
        if read != len(view):
            raise SidecarInvalid(f"{self.path}: truncated while in use")

    def codes(self, first: int, count: int) -> npt.NDArray[np.int8]:
        """The int8 codes of `count` rows from row `first` (ivf_fold copies them)."""
        out: npt.NDArray[np.int8] = self._read("codes", first, count)
        return out

    def slots_of(self, rowids: Rowids) -> Rowids:
        """Where each rowid's vector is in the file; -1 for those not in it."""
        at = np.searchsorted(self.sorted_rowids, rowids)
        at = np.minimum(at, len(self.sorted_rowids) - 1)
        found = self.sorted_rowids[at] == rowids
        return np.where(found, self.sorted_slots[at], -1)

    def vectors(self, slots: Rowids) -> Floats:
        """The (dequantized) vectors at these rows."""
        out = np.zeros((len(slots), self.layout.dims), np.float32)
        for i, slot in enumerate(slots.tolist()):
            out[i] = self._read("codes", slot, 1)[0].astype(np.float32) * self.scales[slot]
        return out
