"""`memory link`, `memory unlink`, `memory links`: a memory's typed links (memory_core.links),
and the URL path of a memory that every `memory` command naming one uses."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote

from memory_core.links import LINK_TYPES
from memoryd.cli.client import DaemonClient
from memoryd.cli.render import emit

ID_HELP = (
    "the memory's short integer id (the # column of list and recall; local to this machine) "
    "or its UUID, or a unique prefix of the UUID"
)
_TYPES_HELP = (
    "part-of (a part or detail of the target), supersedes (replaces the target: kept as "
    "history, never recalled above this one), see-also, resolved-by (a problem the target solved)"
)


def _segment(memory_id: str) -> str:
    """An id as one URL path segment, percent-encoded, so that whatever was typed reaches the
    daemon, which answers a bad id with a 422 naming it (httpx refuses a control character
    in a URL outright)."""
    return quote(memory_id, safe="")


def memory_path(memory_id: str) -> str:
    """The memory's URL path."""
    return f"/api/memories/{_segment(memory_id)}"


def _links_path(memory_id: str) -> str:
    return memory_path(memory_id) + "/links"


def cmd_link(client: DaemonClient, args: argparse.Namespace) -> None:
    body = {"target_id": args.target, "link_type": args.type}
    out = client.request("POST", _links_path(args.id), json=body)
    emit(args, out, lambda d: print(f"Linked {d['src_id']} -{d['link_type']}-> {d['dst_id']}"))


def cmd_unlink(client: DaemonClient, args: argparse.Namespace) -> None:
    path = f"{_links_path(args.id)}/{_segment(args.target)}/{args.type}"
    out = client.request("DELETE", path)

    def human(d: dict[str, Any]) -> None:
        gone = d["unlinked"]
        print(f"Unlinked {gone['src_id']} -{gone['link_type']}-> {gone['dst_id']}")

    emit(args, out, human)


def cmd_links(client: DaemonClient, args: argparse.Namespace) -> None:
    def human(d: dict[str, Any]) -> None:
        for link in d["links_out"]:
            print(f"-{link['type']}-> {link['id']}")
        for link in d["links_in"]:
            print(f"<-{link['type']}- {link['id']}")
        if not d["links_out"] and not d["links_in"]:
            print(f"{d['id']} has no links")

    emit(args, client.request("GET", _links_path(args.id)), human)


def add_commands(sub: Any) -> None:
    p = sub.add_parser("link", help="link a memory to another (part-of, supersedes, ...)")
    p.add_argument("id", help=ID_HELP)
    p.add_argument("type", choices=LINK_TYPES, help=_TYPES_HELP)
    p.add_argument("target", help="the memory linked to: " + ID_HELP)
    p.set_defaults(func=cmd_link)
    p = sub.add_parser("unlink", help="remove a link between two memories")
    p.add_argument("id", help=ID_HELP)
    p.add_argument("type", choices=LINK_TYPES)
    p.add_argument("target", help="the memory linked to")
    p.set_defaults(func=cmd_unlink)
    p = sub.add_parser("links", help="a memory's links, out and in")
    p.add_argument("id", help=ID_HELP)
    p.set_defaults(func=cmd_links)
