"""Terminal output: aligned tables, one-line memories, a stderr progress bar, JSON or human."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from typing import Any, TextIO


def short_id(memory_id: str) -> str:
    # 23 characters: the 48-bit timestamp and 26 random bits, so memories made in the same
    # millisecond (an import) still get distinct short ids; 13 would be the timestamp alone.
    return memory_id[:23]


def one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(0, width - 1)] + "…"


def table(rows: list[list[str]], headers: list[str], out: TextIO = sys.stdout) -> None:
    if not rows:
        return
    width = shutil.get_terminal_size((120, 24)).columns
    cols = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    # The last column (content) takes what is left of the terminal.
    fixed = sum(cols[:-1]) + 2 * (len(cols) - 1)
    cols[-1] = max(20, min(cols[-1], width - fixed))
    print("  ".join(h.ljust(c) for h, c in zip(headers, cols, strict=True)).rstrip(), file=out)
    for row in rows:
        cells = [cell.ljust(c) for cell, c in zip(row[:-1], cols[:-1], strict=True)]
        cells.append(one_line(row[-1], cols[-1]))
        print("  ".join(cells).rstrip(), file=out)


def num_cell(memory: dict[str, Any]) -> str:
    """The short integer id (`memory show 42`), local to this machine; "-" where the store
    has none."""
    num = memory.get("num")
    return str(num) if num is not None else "-"


def memory_rows(memories: list[dict[str, Any]], score: bool = False) -> list[list[str]]:
    rows = []
    for m in memories:
        row = [num_cell(m), short_id(m["id"]), m["category"], f"{m['importance']:.1f}"]
        if score:
            row.append(f"{m.get('score', 0):.3f}")
        row += [m.get("project") or "-", m["content"]]
        rows.append(row)
    return rows


class Progress:
    """A progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, total: int | None, label: str, out: TextIO = sys.stderr) -> None:
        self.total, self.label, self.out, self.done = total, label, out, 0
        self.active = out.isatty()

    def advance(self, n: int) -> None:
        self.done += n
        if not self.active:
            return
        if self.total:
            filled = int(30 * self.done / self.total)
            bar = "#" * filled + "-" * (30 - filled)
            self.out.write(f"\r{self.label} [{bar}] {self.done}/{self.total}")
        else:
            self.out.write(f"\r{self.label} {self.done}")
        self.out.flush()

    def finish(self) -> None:
        if self.active:
            self.out.write("\n")


def emit(args: argparse.Namespace, data: Any, human: Callable[[Any], None]) -> None:
    """Print a command's answer: as JSON with `--json`, else as `human` renders it."""
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        human(data)
