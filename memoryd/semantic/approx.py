"""The approximate index, for stores above MEMORY_SEMANTIC_APPROX_MIN vectors (50,000 by
default; below it the exact index.VectorIndex serves, unchanged).

Three parts: the file (ivf.py: int8 vectors grouped by coarse list, read a few lists a query,
not held in the daemon's memory); a small exact index of the vectors embedded since the file
was built ("fresh": a new memory is found at once, and an edited one by its new vector); and
the rows of the file hidden since ("masked": deleted, made sensitive, or edited), with their
vectors, so that the spread of the query's similarities over the store stays exact. Once
fresh or masked rows pass a share of the file, the leg builds the file again in the
background (leg.py) and swaps it in.

A search scans the `nprobe` lists nearest the query plus every fresh row; recall's other
candidates get their own similarity from the file on demand (ApproxHits.cosine).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from memoryd.semantic.index import FIT_SAMPLE, Projection, Snapshot, VectorIndex, projection_stale
from memoryd.semantic.ivf import Floats, IvfFile, Rowids, SidecarInvalid

# The share of the lists scanned a query (at least NPROBE_MIN), chosen on real embeddings
# (docs/benchmarks.md, "The semantic leg at 1M, approximate" and "... finer lists"): with
# ivf_build's 16 x sqrt(n) lists, recall@10 against the exact search 0.979 (0.993 counting
# ties) at 6k vectors, 0.959 (0.981) at 30k, for 8.5 ms of CPU a search at a million.
PROBE_SHARE = 0.08
NPROBE_MIN = 8
FRESH_MIN = 2000  # fresh or masked rows tolerated before a rebuild, at least ...
FRESH_SHARE = 0.02  # ... and this share of the file


@dataclass(frozen=True)
class ApproxHits:
    """index.Hits for the approximate index: the top k from the lists scanned, any other
    memory's similarity read from the file when asked, and the spread over the whole store
    from the file's moments (exact, not from the rows scanned)."""

    top: list[tuple[int, float]]
    spread: tuple[float, float, int]
    searched: Floats
    offset: float
    file: IvfFile | None
    fresh: Snapshot
    fresh_scores: Floats
    masked: Rowids
    known: dict[int, float | None] = field(default_factory=dict)

    @property
    def best(self) -> float:
        return self.top[0][1] if self.top else 0.0

    def cosine(self, rowid: int) -> float | None:
        if rowid not in self.known:
            self.known[rowid] = self._lookup(rowid)
        return self.known[rowid]

    def _lookup(self, rowid: int) -> float | None:
        slot = self.fresh.slot.get(rowid)
        if slot is not None and slot < len(self.fresh_scores):
            return float(self.fresh_scores[slot])
        if self.file is None or _holds(self.masked, rowid):
            return None
        at = self.file.slots_of(np.array([rowid], dtype=np.int64))
        if at[0] < 0:
            return None
        try:
            vector = self.file.vectors(at)[0]
        except SidecarInvalid:  # damaged since the search: ranked on its words (leg.search)
            return None
        return float(vector @ self.searched) - self.offset


def _holds(sorted_rowids: Rowids, rowid: int) -> bool:
    at = int(np.searchsorted(sorted_rowids, rowid))
    return at < len(sorted_rowids) and int(sorted_rowids[at]) == rowid


@dataclass(frozen=True)
class ApproxSnapshot:
    """The approximate index as it is now, searchable from a thread (see index.Snapshot)."""

    file: IvfFile | None
    fresh: Snapshot
    masked: Rowids  # sorted
    masked_slots: Rowids  # their positions in the file, sorted
    masked_vectors: Floats
    projection: Projection | None
    nprobe: int

    def search(self, query: Floats, k: int) -> ApproxHits:
        searched, offset = (query, 0.0) if self.projection is None else self.projection.query(query)
        fresh_raw = (self.fresh.matrix @ searched).astype(np.float32)
        rowids, raw = self.fresh.rowids, fresh_raw
        if self.file is not None:
            probed, probed_raw = self.file.probe(searched, self.nprobe, k, self.masked_slots)
            rowids = np.concatenate([probed, rowids])
            raw = np.concatenate([probed_raw, raw])
        scores = raw - np.float32(offset)
        k = min(k, len(scores))
        top: list[tuple[int, float]] = []
        if k > 0:
            best = np.argpartition(-scores, k - 1)[:k]
            best = best[np.argsort(-scores[best])]
            top = [(int(rowids[i]), float(scores[i])) for i in best]
        return ApproxHits(
            top,
            self._spread(searched, offset, fresh_raw),
            searched,
            offset,
            self.file,
            self.fresh,
            fresh_raw - np.float32(offset),
            self.masked,
            {rowid: score for rowid, score in top},
        )

    def _spread(
        self, searched: Floats, offset: float, fresh_raw: Floats
    ) -> tuple[float, float, int]:
        """Mean and standard deviation of the query's similarities with every indexed memory:
        from the file's sum and second moment, less its masked rows, plus the fresh ones."""
        hidden = (self.masked_vectors @ searched).astype(np.float64)
        fresh = fresh_raw.astype(np.float64)
        count = len(fresh) - len(hidden)
        first = float(fresh.sum() - hidden.sum())
        second = float((fresh**2).sum() - (hidden**2).sum())
        if self.file is not None:
            wide = searched.astype(np.float64)
            count += self.file.rows
            first += float(self.file.total @ wide)
            second += float(wide @ self.file.moment @ wide)
        if count <= 0:
            return 0.0, 0.0, 0
        mean = first / count
        return mean - offset, math.sqrt(max(second / count - mean * mean, 0.0)), count


class ApproxIndex:
    """Same use as index.VectorIndex (put, remove, snapshot, search, projection), over a file
    built by ivf_build plus the fresh and masked rows since. With no file yet (the first build
    under way) it is not `ready`: the leg answers lexically meanwhile."""

    def __init__(
        self, dimensions: int, file: IvfFile | None, probe_share: float = PROBE_SHARE
    ) -> None:
        self.dimensions = dimensions
        self.file = file
        lists = file.layout.lists if file is not None else 0
        self.nprobe = max(NPROBE_MIN, math.ceil(probe_share * lists))
        self.fresh = VectorIndex(dimensions)
        self._masked = np.zeros(0, np.int64)
        self._masked_slots = np.zeros(0, np.int64)
        self._masked_vectors = np.zeros((0, dimensions), np.float32)
        self.projection: Projection | None = None

    @property
    def ready(self) -> bool:
        return self.file is not None

    def __len__(self) -> int:
        filed = self.file.rows if self.file is not None else 0
        return filed - len(self._masked) + len(self.fresh)

    def _mask(self, rowids: Rowids) -> None:
        """Hide these rows of the file (those in it and not hidden yet)."""
        if self.file is None or not len(rowids):
            return
        rowids = np.unique(rowids)
        slots = self.file.slots_of(rowids)
        new = (slots >= 0) & ~np.isin(rowids, self._masked)
        if not new.any():
            return
        masked = np.concatenate([self._masked, rowids[new]])
        vectors = np.concatenate([self._masked_vectors, self.file.vectors(slots[new])])
        order = np.argsort(masked)
        # Replaced, not edited: a search in a thread keeps the arrays it started with.
        self._masked, self._masked_vectors = masked[order], vectors[order]
        self._masked_slots = np.sort(np.concatenate([self._masked_slots, slots[new]]))

    def put(self, rowids: list[int], vectors: Floats) -> None:
        self._mask(np.array(rowids, dtype=np.int64))
        self.fresh.put(rowids, vectors)

    def remove(self, rowids: set[int]) -> None:
        self.fresh.remove(rowids)
        self._mask(np.array(sorted(rowids), dtype=np.int64))

    @property
    def masked_rows(self) -> int:
        return len(self._masked)

    def live(self) -> Rowids:
        """Every rowid with a vector here, sorted."""
        fresh = np.array(sorted(self.fresh.rowids()), dtype=np.int64)
        if self.file is None:
            return fresh
        filed = self.file.sorted_rowids[~np.isin(self.file.sorted_rowids, self._masked)]
        return np.union1d(filed, fresh)

    def needs_rebuild(self) -> bool:
        if self.file is None:
            return True
        tolerated = max(FRESH_MIN, FRESH_SHARE * self.file.rows)
        return len(self.fresh) > tolerated or len(self._masked) > tolerated

    def stale(self) -> bool:
        return projection_stale(self.projection, len(self))

    def fit_input(self) -> tuple[Floats, int]:
        """Up to FIT_SAMPLE rows spread evenly over the file and the fresh rows (a read of a
        few MB), and how many rows the index holds: what Projection.fit needs."""
        parts = []
        if self.file is not None and self.file.rows:
            share = self.file.rows / max(len(self), 1)
            slots = self.file.sorted_slots[:: math.ceil(self.file.rows / (FIT_SAMPLE * share))]
            parts.append(self.file.vectors(slots))
        fresh = self.fresh.snapshot().matrix
        if len(fresh):
            parts.append(fresh[:: math.ceil(len(self) / FIT_SAMPLE)])
        if not parts:
            return np.zeros((0, self.dimensions), np.float32), 0
        return np.concatenate(parts), len(self)

    def snapshot(self) -> ApproxSnapshot:
        return ApproxSnapshot(
            self.file,
            self.fresh.snapshot(),
            self._masked,
            self._masked_slots,
            self._masked_vectors,
            self.projection,
            self.nprobe,
        )

    def search(self, query: Floats, k: int) -> ApproxHits:
        return self.snapshot().search(query, k)
