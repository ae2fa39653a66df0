"""`memory export` and `memory import`: JSON lines out of and into the daemon, in batches with a
progress bar; an original claude-memory-mcp database and Claude Code's auto memory go in too."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from memory_core.errors import InvalidInput
from memory_core.private_files import private_output
from memory_core.wire.transfer import content_withheld, read_numbered
from memoryd.cli import automem_cmd
from memoryd.cli.client import DaemonClient
from memoryd.cli.render import Progress, emit
from memoryd.importer import read_original_rows

IMPORT_BATCH = 500


def cmd_export(client: DaemonClient, args: argparse.Namespace) -> None:
    if args.claude_auto_memory:
        return automem_cmd.cmd_export(client, args)
    total = client.request("GET", "/api/stats")["total"]
    params = {"include_sensitive": "1"} if args.include_sensitive else {}
    progress = Progress(total, "Exporting")
    # A file gets the decrypted secrets with --include-sensitive: it is 0600 and appears whole.
    output: contextlib.AbstractContextManager[BinaryIO] = (
        private_output(Path(args.output))
        if args.output
        else contextlib.nullcontext(sys.stdout.buffer)
    )
    try:
        with output as sink:
            for line in client.stream_lines("/api/memories/export", params):
                sink.write(line.encode() if isinstance(line, str) else line)
                sink.write(b"\n")
                progress.advance(1)
    finally:
        progress.finish()
    if args.output:
        print(f"Exported {progress.done} memories to {args.output}", file=sys.stderr)


# `memory import`'s exit status when it skipped rows it could not import (the others are in).
EXIT_SKIPPED = 4

Entry = tuple[dict[str, Any], Any]  # where a record is in the source, and the record


def _batches(items: list[Entry]) -> Iterator[list[Entry]]:
    for start in range(0, len(items), IMPORT_BATCH):
        yield items[start : start + IMPORT_BATCH]


def _body(batch: list[Entry]) -> bytes:
    """A batch's request body, encoded as httpx encodes `json=`."""
    records = [item for _, item in batch]
    return json.dumps(records, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _encoded_ahead(entries: list[Entry]) -> Iterator[tuple[list[Entry], bytes]]:
    """Each batch with its request body, the next batch's encoded on a thread while the caller
    sends the current one and waits for the daemon (the socket wait lets the thread run): the
    CLI's encoding overlaps the daemon's work instead of adding to the import's time. The
    batches still go one at a time and in order."""
    with ThreadPoolExecutor(max_workers=1) as encoder:
        batches = _batches(entries)
        current = next(batches, None)
        upcoming = encoder.submit(_body, current) if current is not None else None
        while current is not None and upcoming is not None:
            body = upcoming.result()
            following = next(batches, None)
            upcoming = encoder.submit(_body, following) if following is not None else None
            yield current, body
            current = following


def _read(args: argparse.Namespace) -> tuple[list[Entry], list[dict[str, Any]]]:
    """The records to import, each with where it is in the source (an original database's
    row id, a line or an index), and the source's records that cannot even be read."""
    try:
        if args.from_claude_memory_mcp:
            rows = read_original_rows(Path(args.from_claude_memory_mcp).expanduser())
            return [({"row": row_id}, item) for row_id, item in rows], []
        if args.file:
            return read_numbered(Path(args.file).read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read the import file: {exc}") from None
    raise InvalidInput("give a file to import, or --from-claude-memory-mcp PATH")


def cmd_import(client: DaemonClient, args: argparse.Namespace) -> int | None:
    """Import what the daemon takes; each row it refuses is skipped and reported with where it
    is in the source and why, and the exit status is EXIT_SKIPPED. Running it again imports
    nothing twice (known ids are skipped, equal contents merge)."""
    if args.claude_auto_memory:
        emit(args, automem_cmd.import_auto_memory(client, args), automem_cmd.print_report)
        return None
    entries, rejected = _read(args)
    withheld = [e for e in entries if content_withheld(e[1])]
    entries = [e for e in entries if not content_withheld(e[1])]
    totals: dict[str, Any] = {
        "imported": 0,
        "duplicates": 0,
        "existing": 0,
        "skipped_sensitive": len(withheld),
    }
    progress = Progress(len(entries), "Importing")
    try:
        for batch, body in _encoded_ahead(entries):
            out = client.request(
                "POST",
                "/api/memories/import",
                params={"skip_invalid": "1"},
                content=body,
                headers={"Content-Type": "application/json"},
            )
            for key in ("imported", "duplicates", "existing"):
                totals[key] += out[key]
            for refused in sorted(out.get("rejected", []), key=lambda r: r.get("item", 0)):
                where = batch[refused["item"]][0] if "item" in refused else {}
                rejected.append({**where, "reason": refused["reason"], "code": refused["code"]})
            progress.advance(len(batch))
    finally:
        progress.finish()
    totals["rejected"] = rejected
    emit(args, totals, _report)
    return EXIT_SKIPPED if rejected else None


def _where(entry: dict[str, Any]) -> str:
    for key in ("row", "line", "index"):
        if key in entry:
            return f"{key} {entry[key]}"
    return "an item"


def _report(totals: dict[str, Any]) -> None:
    print(
        f"Imported {totals['imported']}, merged {totals['duplicates']} duplicates, "
        f"skipped {totals['existing']} already present"
        + (
            f", skipped {totals['skipped_sensitive']} sensitive memories exported without "
            "their content (export with --include-sensitive to keep them)"
            if totals["skipped_sensitive"]
            else ""
        )
    )
    rejected = totals["rejected"]
    if rejected:
        print(f"Skipped {len(rejected)} that could not be imported (the rest is in):")
        for entry in rejected:
            print(f"  {_where(entry)}: {entry['reason']}")
