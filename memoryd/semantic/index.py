"""A compact in-daemon vector index: one float32 matrix, exact cosine by matrix product.

At 10k memories x 384 dimensions that is 15 MB and about a millisecond per query on 2 cores. It
serves up to MEMORY_SEMANTIC_APPROX_MIN vectors (50,000); above that the approximate index of
approx.py takes over (at a million, 1.5 GB and ~200 ms a query would be this one's cost).

Similarities are taken after removing what the store's memories all share (`Projection`): the
sentence model's vectors crowd into a narrow cone, and within one store a few directions (the
mean; in a LoCoMo conversation, the next ones separate its two speakers) weigh on every cosine
and drown the topic.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]


def length(vector: npt.NDArray[np.floating]) -> float:
    """np.linalg.norm(vector) of a 1-D vector, bit for bit (it is sqrt(x . x) in the vector's
    own type), without its ~2 us of argument handling: a query takes three."""
    return float(np.sqrt(vector.dot(vector)))


# Chosen on the LoCoMo dev conversations only (docs/benchmarks.md): removing the mean and the
# top 2-4 principal directions all score alike (R@10 72-75 fused, against 70.5 with raw
# cosines); 3 is the middle. Under MIN_FIT vectors the directions are mostly noise: raw cosines.
COMPONENTS = 3
MIN_FIT = 100
REFIT_GROWTH = 0.1  # refit once the store has grown or shrunk by this share since the last fit
FIT_SAMPLE = 4096  # at most this many rows (evenly spaced) estimate the directions


@dataclass(frozen=True)
class Projection:
    """Removes the store's mean vector and its top principal directions ("all-but-the-top",
    Mu & Viswanath 2018). Only the query is transformed: for a query q' already in the kept
    subspace, (x - mean) . q' == x . q' - mean . q', so searching costs one product over the
    raw matrix as before. (Rows are not re-normalised after the projection: measured on dev,
    dividing by their new norms changed nothing.)"""

    mean: Vector
    components: Vector  # (k, dimensions), orthonormal rows
    rows: int  # the size of the index it was fitted on

    @classmethod
    def fit(
        cls, matrix: Vector, components: int = COMPONENTS, rows: int | None = None
    ) -> Projection | None:
        """None for an index too small to tell its common directions from noise. Blocking
        (~50 ms at 10k rows): run it in a thread. `rows`: the size of the index `matrix` is a
        sample of (approx.ApproxIndex.fit_input), if it is not the whole index."""
        rows = len(matrix) if rows is None else rows
        if rows < MIN_FIT:
            return None
        sample = matrix[:: math.ceil(len(matrix) / FIT_SAMPLE)].astype(np.float64)
        mean = sample.mean(axis=0)
        centred = sample - mean
        _, vectors = np.linalg.eigh(centred.T @ centred)  # eigenvalues ascending
        top = vectors[:, ::-1][:, :components].T
        return cls(mean.astype(np.float32), np.ascontiguousarray(top, dtype=np.float32), rows)

    def query(self, query: Vector) -> tuple[Vector, float]:
        """The query as searched (unit length, in the kept subspace) and the offset
        mean . q' to subtract from every row's product with it."""
        centred = query - self.mean
        kept = centred - self.components.T @ (self.components @ centred)
        norm = length(kept)
        if norm < 1e-6:  # the query is all common direction: nothing left to compare
            return query, 0.0
        searched = (kept / norm).astype(np.float32, copy=False)
        return searched, float(self.mean @ searched)


def projection_stale(projection: Projection | None, rows: int) -> bool:
    """Whether `projection` no longer fits an index of `rows` rows (see REFIT_GROWTH)."""
    if projection is None:
        return rows >= MIN_FIT
    fitted = projection.rows
    return rows < MIN_FIT or abs(rows - fitted) > REFIT_GROWTH * fitted


@dataclass(frozen=True)
class Hits:
    """One query's similarities (cosines, after the index's projection) against every indexed
    memory: the k nearest, and any other row's on demand (recall fuses the similarity of every
    lexical candidate, not only of the nearest)."""

    top: list[tuple[int, float]]  # (rowid, similarity), best first
    scores: npt.NDArray[np.float32]
    slot: dict[int, int]  # rowid -> row of `scores`, as it was when they were computed

    @property
    def best(self) -> float:
        return self.top[0][1] if self.top else 0.0

    @functools.cached_property
    def spread(self) -> tuple[float, float, int]:
        """Mean and standard deviation of the similarities, and how many (for the prompt
        hook's relevance floor)."""
        return score_spread(self.scores)

    def cosine(self, rowid: int) -> float | None:
        """None for a memory without a vector (sensitive, or not embedded yet)."""
        slot = self.slot.get(rowid)
        # put() may add rows to the live mapping after the search: those have no score here.
        # (.item: float(scores[slot]) without the numpy scalar in between.)
        return self.scores.item(slot) if slot is not None and slot < len(self.scores) else None


def score_spread(scores: Vector) -> tuple[float, float, int]:
    """(float(scores.mean()), float(scores.std()), len(scores)), bit for bit: numpy's own steps
    (numpy/_core/_methods.py: a pairwise sum in the array's type, divided by the count as an
    intp, so in float64, and rounded back; the same for the squared deviations from that mean,
    then the square root), without summing the mean twice nor std's argument handling (25 us
    -> 15 us at 10k rows)."""
    count = np.intp(len(scores))
    if not count:
        return float("nan"), float("nan"), 0
    total = np.add.reduce(scores)
    mean = total.dtype.type(total / count)
    deviations = np.subtract(scores, mean)
    np.square(deviations, out=deviations)
    squares = np.add.reduce(deviations)
    deviation = np.sqrt(squares.dtype.type(squares / count))
    return float(mean), float(deviation), int(count)


@dataclass(frozen=True)
class Snapshot:
    """The index as it is now, searchable from another thread while the event loop goes on
    changing the index: remove() and growth replace these arrays and this mapping rather
    than editing them, and new rows land past the end of this view of the buffer."""

    matrix: Vector
    rowids: npt.NDArray[np.int64]
    slot: dict[int, int]
    projection: Projection | None = None

    def search(self, query: Vector, k: int) -> Hits:
        """Similarities of the query with every vector (all unit length), the k nearest
        first: cosines, after the projection when the index has one."""
        if self.projection is None:
            scores = self.matrix @ query
        else:
            searched, offset = self.projection.query(query)
            scores = self.matrix @ searched
            scores -= np.float32(offset)  # in place: no second array of every row's score
        k = min(k, len(scores))
        if k <= 0:
            return Hits([], scores, self.slot)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        # tolist: the Python ints and floats int() and float() gave, built in C (~20 us less).
        top_list = list(zip(self.rowids[top].tolist(), scores[top].tolist(), strict=True))
        hits = Hits(top_list, scores, self.slot)
        # Recall asks every query with hits for their spread (~20 us at 10k rows): computed
        # here, so that a product run on a reader's thread takes it off the event loop.
        _ = hits.spread
        return hits


class VectorIndex:
    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._buffer = np.zeros((0, dimensions), dtype=np.float32)
        self._matrix = self._buffer[:0]  # the rows in use: a view of the buffer
        self._rowids = np.zeros(0, dtype=np.int64)
        self._slot: dict[int, int] = {}
        # Fitted off the event loop (SemanticLeg.refit) and swapped in whole.
        self.projection: Projection | None = None

    def __len__(self) -> int:
        return len(self._slot)

    def rowids(self) -> set[int]:
        return set(self._slot)

    def put(self, rowids: list[int], vectors: Vector) -> None:
        fresh = []
        for rowid, vector in zip(rowids, vectors, strict=True):
            slot = self._slot.get(rowid)
            if slot is None:
                fresh.append((rowid, vector))
            else:
                # In place: a search running in a thread may see this one row half replaced.
                self._matrix[slot] = vector
        if fresh:
            start = len(self._rowids)
            self._reserve(start + len(fresh))
            self._buffer[start : start + len(fresh)] = np.stack([v for _, v in fresh])
            self._matrix = self._buffer[: start + len(fresh)]
            self._rowids = np.concatenate([self._rowids, [r for r, _ in fresh]])
            for offset, (rowid, _) in enumerate(fresh):
                self._slot[rowid] = start + offset

    def _reserve(self, rows: int) -> None:
        """Grow the backing buffer by doubling, so adding n vectors one batch at a time costs
        O(n) copying, not O(n^2)."""
        if rows <= len(self._buffer):
            return
        grown = np.zeros((max(rows, 2 * len(self._buffer), 256), self.dimensions), np.float32)
        grown[: len(self._matrix)] = self._matrix
        self._buffer = grown

    def remove(self, rowids: set[int]) -> None:
        gone = rowids & self._slot.keys()
        if not gone:
            return
        keep = np.array([r not in gone for r in self._rowids.tolist()], dtype=bool)
        self._buffer = self._matrix[keep]
        self._matrix = self._buffer
        self._rowids = self._rowids[keep]
        self._slot = {int(r): i for i, r in enumerate(self._rowids.tolist())}

    def clear(self) -> None:
        self.remove(set(self._slot))
        self.projection = None

    def stale(self) -> bool:
        """Whether the projection no longer fits the index's size (see REFIT_GROWTH)."""
        return projection_stale(self.projection, len(self))

    def fit_input(self) -> tuple[Vector, int]:
        """What Projection.fit is given: every row (it samples them itself), and their number."""
        return self._matrix, len(self._matrix)

    def snapshot(self) -> Snapshot:
        return Snapshot(self._matrix, self._rowids, self._slot, self.projection)

    def search(self, query: Vector, k: int) -> Hits:
        return self.snapshot().search(query, k)
