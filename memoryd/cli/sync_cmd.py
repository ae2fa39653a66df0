"""`memory sync` (run a round now) and the sync lines of `memory status`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from memory_core.clock import iso_from_ms
from memoryd.cli.client import DaemonClient


def sync_lines(d: dict[str, Any]) -> list[str]:
    if not d.get("enabled"):
        return [f"  sync      off ({d.get('why', d.get('mode'))})"]
    when = {k: iso_from_ms(d[k]) if d.get(k) else "never" for k in ("last_push_ms", "last_pull_ms")}
    lines = [
        f"  sync      {d['mode']} via {d['hub_url']} (replica {d['replica_id'][:8]})",
        f"  queued    {d['queue_depth']} (set aside: {d['parked']}, unreadable: "
        f"{d['quarantined']}), cursor {d['cursor']}",
        f"  last push {when['last_push_ms']}, last pull {when['last_pull_ms']}",
        f"  sensitive {'synced encrypted' if d['sensitive_syncing'] else d['sensitive_note']}",
    ]
    if d.get("last_error"):
        lines.append(f"  error     {d['last_error']}")
    lines.extend(f"  set aside {e}" for e in d.get("parked_errors", []))
    if d.get("cloned_database_detected"):
        lines.append("  note      database was copied from elsewhere: new replica id taken")
    return lines


def cmd_sync(client: DaemonClient, args: argparse.Namespace) -> None:
    result = client.request("POST", "/api/sync")
    if args.json:
        print(json.dumps(result, indent=2))
        return
    if result["ok"]:
        print(
            f"Pushed {result['pushed']} (already there: {result['duplicates']}), "
            f"pulled {result['pulled']}, applied {result['applied']}"
        )
    else:
        print(f"Sync did not finish: {result['error_code']}: {result['error']}")
    for line in sync_lines(result["status"]):
        print(line)
