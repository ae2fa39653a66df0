"""`memory export` and `memory import`: JSON lines out of and into the daemon, in batches with a
progress bar; an original claude-memory-mcp database and Claude Code's auto memory go in too."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from memory_core.errors import InvalidInput
from memory_core.private_files import private_output
from memory_core.wire.transfer import content_withheld, read_items
from memoryd.cli import automem_cmd
from memoryd.cli.client import DaemonClient
from memoryd.cli.render import Progress, emit
from memoryd.importer import read_original_db

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


def _batches(items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), IMPORT_BATCH):
        yield items[start : start + IMPORT_BATCH]


def cmd_import(client: DaemonClient, args: argparse.Namespace) -> None:
    if args.claude_auto_memory:
        return emit(args, automem_cmd.import_auto_memory(client, args), automem_cmd.print_report)
    try:
        if args.from_claude_memory_mcp:
            items = list(read_original_db(Path(args.from_claude_memory_mcp).expanduser()))
        elif args.file:
            path = Path(args.file)
            items = read_items(path.read_text(), str(path))
        else:
            raise InvalidInput("give a file to import, or --from-claude-memory-mcp PATH")
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read the import file: {exc}") from None

    withheld = [i for i in items if content_withheld(i)]
    items = [i for i in items if not content_withheld(i)]
    totals = {"imported": 0, "duplicates": 0, "existing": 0, "skipped_sensitive": len(withheld)}
    progress = Progress(len(items), "Importing")
    try:
        for batch in _batches(items):
            out = client.request("POST", "/api/memories/import", json=batch)
            for key in ("imported", "duplicates", "existing"):
                totals[key] += out[key]
            progress.advance(len(batch))
    finally:
        progress.finish()
    emit(
        args,
        totals,
        lambda t: print(
            f"Imported {t['imported']}, merged {t['duplicates']} duplicates, "
            f"skipped {t['existing']} already present"
            + (
                f", skipped {t['skipped_sensitive']} sensitive memories exported without "
                "their content (export with --include-sensitive to keep them)"
                if t["skipped_sensitive"]
                else ""
            )
        ),
    )
