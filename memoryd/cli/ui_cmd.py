"""`memory ui`: ask the running daemon for its memory viewer and open it in the browser."""

from __future__ import annotations

import argparse
import json
import webbrowser
from typing import Any

from memoryd.cli.client import DaemonClient


def cmd_ui(client: DaemonClient, args: argparse.Namespace) -> None:
    body = {"port": args.port} if args.port else {}
    out = client.request("POST", "/api/viewer", json=body)
    opened = not args.no_browser and webbrowser.open(out["url"])
    if args.json:
        print(json.dumps({**out, "opened": opened}, indent=2))
        return
    state = "started" if out["started"] else "already running"
    print(f"Memory viewer {state} on http://127.0.0.1:{out['port']}/")
    if opened:
        print("Opened it in your browser. If that browser is elsewhere, run `memory ui` again.")
    else:
        print("Open this link in a browser on this machine (it works once, for five minutes):")
    print(f"  {out['url']}")


def add_command(sub: Any) -> None:
    p = sub.add_parser("ui", help="open the memory viewer in the browser")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument(
        "--no-browser", action="store_true", help="only print the link (headless machines)"
    )
    p.set_defaults(func=cmd_ui)
