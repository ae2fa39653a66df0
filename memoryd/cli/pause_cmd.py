"""`memory learn-pause`: pause or resume auto-learn for one project (the switch the viewer's
Learned page shows), or list the paused projects."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from memory_core.clock import iso_from_ms
from memoryd.cli.client import DaemonClient
from memoryd.learn.pause import key_of
from memoryd.sessions.project import project_for


def cmd_learn_pause(client: DaemonClient, args: argparse.Namespace) -> None:
    if args.list:
        paused = client.request("GET", "/api/learn/paused")["paused"]
        if args.json:
            print(json.dumps(paused, indent=2, ensure_ascii=False))
        elif not paused:
            print("Auto-learn is paused for no project.")
        for project, at_ms in sorted(paused.items()):
            print(f"{project}  paused since {iso_from_ms(at_ms)[:16].replace('T', ' ')} UTC")
        return
    # Named as the hooks name it: the git repository (or directory) of the session's cwd.
    project = args.project or key_of(project_for(os.getcwd()))
    body = {"project": project, "paused": not args.resume}
    out = client.request("PUT", "/api/learn/paused", json=body)
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return
    state = "paused" if out["paused"] else "resumed"
    print(f"Auto-learn {state} for project {out['project']}.")


def add_command(sub: Any) -> None:
    p = sub.add_parser("learn-pause", help="pause (or resume) auto-learn for a project")
    p.add_argument("project", nargs="?", help="the project (default: this directory's)")
    p.add_argument("--resume", action="store_true", help="learn again in this project")
    p.add_argument("--list", action="store_true", help="list the paused projects")
    p.set_defaults(func=cmd_learn_pause)
