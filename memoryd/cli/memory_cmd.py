"""`memory`: the human CLI. Talks to the daemon over its socket; `--json` for scripts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from memory_core.config import load_settings
from memory_core.errors import ConfigError, DaemonDown, InvalidInput, RemoteError, StoreCorrupt
from memoryd.cli import automem_cmd
from memoryd.cli.client import DaemonClient
from memoryd.cli.hooks_cmd import add_commands as add_hook_commands
from memoryd.cli.links_cmd import ID_HELP, memory_path
from memoryd.cli.links_cmd import add_commands as add_link_commands
from memoryd.cli.pause_cmd import add_command as add_pause_command
from memoryd.cli.render import emit, memory_rows, table
from memoryd.cli.status_cmd import cmd_reindex, cmd_stats, cmd_status
from memoryd.cli.sync_cmd import cmd_sync
from memoryd.cli.transfer_cmd import cmd_export, cmd_import
from memoryd.cli.ui_cmd import add_command as add_ui_command
from memoryd.doctor import doctor_command
from memoryd.service.backup import backup_command

Handler = Callable[[DaemonClient, argparse.Namespace], Any]


def cmd_remember(client: DaemonClient, args: argparse.Namespace) -> None:
    body: dict[str, Any] = {
        "content": " ".join(args.text),
        "category": args.category,
        "tags": args.tags or [],
        "importance": args.importance,
        "expanded_keywords": args.keywords or "",
        "force_sensitive": args.sensitive,
    }
    if args.project:
        body["project"] = args.project
    out = client.request("POST", "/api/memories", json=body)

    def human(d: dict[str, Any]) -> None:
        num = f" (#{d['num']})" if d.get("num") is not None else ""
        if d.get("duplicate_of"):
            print(f"Already known as {d['id']}{num} (merged tags and importance)")
        else:
            flag = " (sensitive: encrypted)" if d["is_sensitive"] else ""
            print(f"Stored {d['id']}{num} in {d['category']}{flag}")

    emit(args, out, human)


def cmd_recall(client: DaemonClient, args: argparse.Namespace) -> None:
    body: dict[str, Any] = {
        "context": " ".join(args.query),
        "limit": args.limit,
        "sort_by": args.sort,
    }
    if args.category:
        body["category"] = args.category
    if args.project:
        body["project"] = args.project
    out = client.request("POST", "/api/memories/recall", json=body)

    def human(d: dict[str, Any]) -> None:
        if not d["memories"]:
            print("No memories found.")
        table(
            memory_rows(d["memories"], score=True),
            ["#", "ID", "CATEGORY", "IMP", "SCORE", "PROJECT", "CONTENT"],
        )

    emit(args, out, human)


def cmd_list(client: DaemonClient, args: argparse.Namespace) -> None:
    params = {
        k: v
        for k, v in (("category", args.category), ("tag", args.tag), ("project", args.project))
        if v
    }
    out = client.request(
        "GET", "/api/memories", params={**params, "limit": args.limit, "offset": args.offset}
    )

    def human(d: dict[str, Any]) -> None:
        table(memory_rows(d["memories"]), ["#", "ID", "CATEGORY", "IMP", "PROJECT", "CONTENT"])
        print(f"{len(d['memories'])} of {d['total']} shown")

    emit(args, out, human)


def _show_memory(m: dict[str, Any]) -> None:
    print(m["content"])
    print()
    for key in (
        "num",
        "id",
        "category",
        "tags",
        "importance",
        "project",
        "source",
        "supersedes",
        "is_sensitive",
        "expanded_keywords",
        "created_at",
        "updated_at",
    ):
        value = m.get(key)
        if isinstance(value, list):
            value = ", ".join(value) or "-"
        print(f"  {key:<18} {value if value not in (None, '') else '-'}")


def cmd_show(client: DaemonClient, args: argparse.Namespace) -> None:
    emit(args, client.request("GET", memory_path(args.id)), _show_memory)


def cmd_update(client: DaemonClient, args: argparse.Namespace) -> None:
    body: dict[str, Any] = {}
    for key, value in (
        ("content", args.content),
        ("category", args.category),
        ("tags", args.tags),
        ("importance", args.importance),
        ("expanded_keywords", args.keywords),
        ("project", args.project),
    ):
        if value is not None:
            body[key] = value
    if not body:
        raise InvalidInput(
            "nothing to update: pass --content, --category, --tags, "
            "--importance, --keywords or --project"
        )
    out = client.request("PUT", memory_path(args.id), json=body)
    emit(args, out, lambda d: print(f"Updated {d['updated']}"))


def cmd_forget(client: DaemonClient, args: argparse.Namespace) -> None:
    out = client.request("DELETE", memory_path(args.id))
    emit(args, out, lambda d: print(f"Forgot {d['deleted']}: {d['preview']}"))


def _add_field_flags(
    p: argparse.ArgumentParser, category: str | None = None, importance: float | None = None
) -> None:
    """The memory's fields other than its text, as `remember` and `update` take them."""
    p.add_argument("-c", "--category", default=category)
    p.add_argument("-t", "--tags", help="comma-separated")
    p.add_argument("-i", "--importance", type=float, default=importance)
    p.add_argument("-k", "--keywords", help="extra search words")
    p.add_argument("-p", "--project")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memory", description="Talk to your memoryd.")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("remember", help="store a memory")
    p.add_argument("text", nargs="+")
    _add_field_flags(p, category="facts", importance=0.5)
    p.add_argument("--sensitive", action="store_true", help="encrypt, never show in recall")
    p.set_defaults(func=cmd_remember)

    p = sub.add_parser("recall", help="search memories")
    p.add_argument("query", nargs="+")
    p.add_argument("-c", "--category")
    p.add_argument("-p", "--project")
    p.add_argument("-n", "--limit", type=int, default=10)
    p.add_argument("--sort", choices=["relevance", "importance", "recency"], default="relevance")
    p.set_defaults(func=cmd_recall)

    p = sub.add_parser("list", help="list memories, newest first")
    p.add_argument("-c", "--category")
    p.add_argument("-t", "--tag")
    p.add_argument("-p", "--project")
    p.add_argument("-n", "--limit", type=int, default=20)
    p.add_argument("--offset", type=int, default=0)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="show one memory")
    p.add_argument("id", help=ID_HELP)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("update", help="change fields of a memory")
    p.add_argument("id", help=ID_HELP)
    p.add_argument("--content")
    _add_field_flags(p)  # no defaults: only the fields given change
    p.set_defaults(func=cmd_update)

    p = sub.add_parser("forget", help="delete a memory")
    p.add_argument("id", help=ID_HELP)
    p.set_defaults(func=cmd_forget)
    add_link_commands(sub)  # link, unlink, links

    p = sub.add_parser("export", help="export as JSON lines")
    p.add_argument("-o", "--output", help="file (default: stdout)")
    p.add_argument(
        "--include-sensitive",
        action="store_true",
        help="include decrypted sensitive content (keep the file safe)",
    )
    automem_cmd.add_flags(p, "write a project's memories as a Claude Code MEMORY.md", "NAME|PATH")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="import JSON lines, a JSON array, or an original db")
    p.add_argument("file", nargs="?")
    p.add_argument(
        "--from-claude-memory-mcp",
        metavar="PATH",
        help="a memory.db of the original claude-memory-mcp project",
    )
    automem_cmd.add_flags(p, "read Claude Code's auto memory (~/.claude/projects/*/memory)", "PATH")
    p.set_defaults(func=cmd_import)

    sub.add_parser("stats", help="counts and sizes").set_defaults(func=cmd_stats)
    sub.add_parser("status", help="is the daemon up, and how").set_defaults(func=cmd_status)
    sub.add_parser("sync", help="sync with the hub now").set_defaults(func=cmd_sync)
    p = sub.add_parser("reindex", help="embed every memory again (memoryd[semantic])")
    p.set_defaults(func=cmd_reindex)
    add_hook_commands(sub)  # hooks install/uninstall, learned
    add_ui_command(sub)  # ui: the memory viewer in the browser
    add_pause_command(sub)  # learn-pause: auto-learn off for one project

    # Local commands: they work on the files directly, with or without a daemon.
    p = sub.add_parser("doctor", help="check installation, socket, database and key file")
    p.add_argument("--rebuild-fts", action="store_true", help="rebuild a damaged full-text index")
    p.set_defaults(local=doctor_command)
    p = sub.add_parser("backup", help="write a consistent copy of the database (0600)")
    p.add_argument("path")
    p.add_argument("--force", action="store_true", help="replace PATH if it exists")
    p.set_defaults(local=backup_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"memory: {exc.message}", file=sys.stderr)
        return 2
    if getattr(args, "local", None) is not None:
        try:
            status: int = args.local(settings, args)
        except (InvalidInput, StoreCorrupt, ConfigError) as exc:
            print(f"memory: {exc.message}", file=sys.stderr)
            return 1
        return status
    handler: Handler = args.func
    try:
        with DaemonClient(settings.socket_path) as client:
            # A handler may answer an exit status of its own (import: rows were skipped).
            status = handler(client, args)
    except DaemonDown as exc:
        print(f"memory: {exc.message}", file=sys.stderr)
        return 3
    except (RemoteError, InvalidInput) as exc:
        print(f"memory: {exc.message}", file=sys.stderr)
        return 1
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
