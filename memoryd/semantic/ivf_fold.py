"""Folding the fresh and masked rows into a new index file without building its lists again:
blocking, run in a thread by the keeper (keeper.py) instead of ivf_build.build while the store
has not outgrown the file's lists.

The kept rows keep their list and their int8 codes (copied from the old file a chunk at a time,
never all in memory); the fresh rows are quantized and join the list of their nearest
centroid; the sum and second moment are the old ones less the masked rows' and plus the fresh
rows' (all from dequantized codes, so they stay exact). No vector is read from the database
and no row is compared with every centroid again: at a million rows a copy of the file,
against ~50 s of one core for a build.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import numpy as np

from memoryd.semantic.index import Projection
from memoryd.semantic.ivf import Floats, IvfFile, Rowids, quantize
from memoryd.semantic.ivf_build import (
    CHUNK,
    BuildStopped,
    list_count,
    nearest_list,
    private_file,
    remove_leftovers,
    searched_space,
    write,
)

# Fold while the store would get at most this many times the file's lists from a build (lists
# grow as sqrt(rows)) and has at most its square times the rows the lists were made for (the
# same 2.25x, also once the list count has reached ivf_build.MAX_LISTS: centroids trained on
# the first 65,000 rows would otherwise serve a million), and while fewer than half its rows
# are masked; past that, build.
FOLD_GROWTH = 1.5


def foldable(file: IvfFile, rows: int, masked: int) -> bool:
    return (
        list_count(rows) <= FOLD_GROWTH * file.layout.lists
        and rows <= FOLD_GROWTH**2 * file.trained
        and masked < file.rows / 2
    )


def fold(
    old: IvfFile,
    target: Path,
    model: str,
    fresh: tuple[Rowids, Floats],
    masked: tuple[Rowids, Floats],
    projection: Projection | None,
    stop: threading.Event | None = None,
) -> int:
    """Write `old` less the rows at the `masked` slots (with their dequantized vectors) plus
    the `fresh` rows (rowids, vectors) to `target`; returns its rows."""
    stop = stop or threading.Event()
    remove_leftovers(target)
    fresh_rowids, fresh_vectors = fresh
    masked_slots, masked_vectors = masked
    dims = old.layout.dims
    keep = np.ones(old.rows, bool)
    keep[masked_slots] = False
    kept = np.nonzero(keep)[0]
    fresh_codes, fresh_scales = quantize(fresh_vectors)
    rows = len(kept) + len(fresh_rowids)
    scratch = target.with_name(f"{target.name}.scratch-{os.getpid()}")
    try:
        os.close(private_file(scratch, max(rows, 1) * dims))
        codes = np.memmap(scratch, dtype=np.int8, mode="r+", shape=(max(rows, 1), dims))
        done = 0
        for start in range(0, old.rows, CHUNK):
            if stop.is_set():
                raise BuildStopped
            block = old.codes(start, min(CHUNK, old.rows - start))
            chosen = block[keep[start : start + len(block)]]
            codes[done : done + len(chosen)] = chosen
            done += len(chosen)
        codes[done:rows] = fresh_codes
        lists = np.repeat(np.arange(old.layout.lists, dtype=np.int32), np.diff(old.starts))
        deq_fresh = fresh_codes.astype(np.float32) * fresh_scales[:, None]
        total = old.total - masked_vectors.sum(0, dtype=np.float64) + deq_fresh.sum(0)
        moment = (
            old.moment
            - (masked_vectors.T @ masked_vectors).astype(np.float64)
            + (deq_fresh.T @ deq_fresh).astype(np.float64)
        )
        joined = nearest_list(searched_space(fresh_vectors, projection), old.centroids)
        write(
            target,
            model,
            old.centroids,
            np.concatenate([old.rowids[kept], fresh_rowids]),
            np.concatenate([lists[kept], joined]),
            np.concatenate([old.scales[kept], fresh_scales]),
            codes[:rows],
            (total, moment),
            old.trained,
        )
        return rows
    finally:
        with contextlib.suppress(FileNotFoundError):
            scratch.unlink()
