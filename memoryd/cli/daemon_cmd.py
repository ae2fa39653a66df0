"""`memoryd`: run the daemon (`memoryd serve`) and manage it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from memory_core.config import load_settings
from memory_core.disk import is_disk_full
from memory_core.errors import ConfigError, DiskFull, StoreCorrupt
from memory_core.log_format import log_to
from memory_core.version import PROTOCOL, __version__
from memoryd.service.commands import add_commands as add_service_commands


def _serve(args: argparse.Namespace) -> int:
    from memory_core.crypto.keys import load_key
    from memoryd.daemon import acquire_lock, serve
    from memoryd.doctor_data import missing_key_problem
    from memoryd.store.db import check_database

    log_to(  # tracebacks without exception messages: those may quote memory content
        logging.StreamHandler(sys.stderr),
        logging.DEBUG if args.verbose else logging.INFO,
        "%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings()
        # HTTP-only mode keeps nothing local: no key file, no database (only the lock file).
        local = settings.mode != "http"
        # Fail before serving, with one clear line, on what the lifespan would trip over.
        problem = missing_key_problem(settings) if local else None
        if problem is not None:
            raise ConfigError(problem)
        if local:
            load_key(
                settings.encryption_key.get_secret_value() if settings.encryption_key else None,
                settings.key_file,
            )
        lock = acquire_lock(settings.db_path) if local else None
        checked = lock is not None
        if lock is not None:  # else another daemon owns it (serve() says so), or no database
            try:
                asyncio.run(check_database(settings.db_path, settings.check_later_bytes))
            finally:
                lock.release()
    except (ConfigError, StoreCorrupt, DiskFull) as exc:
        print(f"memoryd: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the lock file on a full disk
        if not is_disk_full(exc):
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"memoryd: cannot start: the disk is full{where}. Free some space, then try again",
            file=sys.stderr,
        )
        return 2
    return serve(settings, idle_exit=args.idle_exit, integrity_checked=checked)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="memoryd", description="The memoryd daemon: persistent memory for Claude Code."
    )
    parser.add_argument(
        "--version", action="version", version=f"memoryd {__version__} (protocol {PROTOCOL})"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the daemon in the foreground")
    serve.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    serve.add_argument(
        "--idle-exit",
        type=float,
        metavar="SECONDS",
        help="when socket-activated by systemd, exit after this long without connections",
    )
    serve.set_defaults(func=_serve)
    add_service_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
