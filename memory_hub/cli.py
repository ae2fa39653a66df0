"""`memory-hub serve --host --port` and `memory-hub migrate`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from memory_core.errors import ConfigError
from memory_core.log_format import log_to


def _serve(host: str, port: int) -> int:
    import uvicorn

    from memory_hub.app import create_app
    from memory_hub.config import load_settings

    settings = load_settings()
    # log_config=None: uvicorn's records (its tracebacks of 500s included) go through our
    # formatter, which leaves exception messages out of the log.
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False, log_config=None)
    return 0


def _migrate() -> int:
    from memory_hub.migrations import migrate_url

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise ConfigError("DATABASE_URL is required (postgresql://user:password@host:5432/db)")
    applied = asyncio.run(migrate_url(url))
    print(f"applied migrations: {applied}" if applied else "schema is up to date")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="memory-hub", description="The memoryd hub server.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP server (migrates first)")
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server, in a container
    serve.add_argument("--port", type=int, default=8080)
    sub.add_parser("migrate", help="apply database migrations and exit")
    args = parser.parse_args(argv)
    log_to(logging.StreamHandler(sys.stderr), logging.INFO, "%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "serve":
            return _serve(args.host, args.port)
        return _migrate()
    except ConfigError as exc:
        print(f"memory-hub: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
