"""Property-based fuzz of every route in the hub's OpenAPI document (GET /openapi.json of a
real `memory-hub serve` on a real PostgreSQL database): for each route and each kind of attack,
a fixed set of hostile requests as alice, each answered without a 5xx or a traceback, every
error in the one JSON envelope, and alice's op log, memories and stats unchanged by every
request the hub refused."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest
from hypothesis import strategies as st

from memory_core.hlc import pack
from memory_core.http.openapi import openapi_document
from memory_core.version import __version__
from memory_core.wire import sync
from memory_hub.endpoints import ENDPOINTS, HUB_ERRORS
from tests.adversarial.fuzz import Answer, fuzz, grid, send
from tests.adversarial.probes import (
    KINDS,
    Operation,
    Probe,
    documented_operation,
    valid_probe,
)
from tests.adversarial.xfails import HUB_DEFECTS
from tests.hub.ops import put
from tests.hubs import KEYS, hub_env
from tests.pg import PgCluster, create_database
from tests.support import HubServer

# The parametrization comes from the same table the hub serves its document from; the first
# test checks that the served document lists exactly these routes.
DOCUMENT = openapi_document(ENDPOINTS, "memory-hub", __version__, HUB_ERRORS)
ROUTES = sorted(
    f"{method.upper()} {path}" for path, ops in DOCUMENT["paths"].items() for method in ops
)
REPLICA = "ad" * 16


def _push_body() -> dict[str, Any]:
    now = int(__import__("time").time() * 1000)
    op = put(REPLICA, 1, "0aa0a0a0-0000-7000-8000-000000000001", pack(now, 0),
             category="facts", content="pushed by the fuzz", tags=["fuzz"], importance=0.5,
             created_ms=now)  # fmt: skip
    return {"replica_id": REPLICA, "ops": [op]}


# Bodies the document's schema would not make valid: a push's ops need a real clock, replica
# and sequence; a patch's fields are all optional (its example would change nothing).
VALID_BODIES: dict[str, Any] = {
    "PUT /api/memories/{id}": {
        "content": "updated by the fuzz",
        "category": "facts",
        "tags": ["fuzz"],
        "expanded_keywords": "words",
        "importance": 0.5,
        "project": "p",
    },
    f"POST {sync.PUSH_PATH}": _push_body(),
}

AUTHORIZATIONS: tuple[bytes | None, ...] = (
    None,
    b"",
    b"Bearer",
    b"Bearer wrong-key",
    b"Basic YWxpY2U6eA==",
    b"Bearer " + KEYS["alice"].encode() + b"x",
    b"Bearer " + KEYS["alice"][:-1].encode(),
    b"Bearer " + b"a" * 10_000,
    b"Bearer \xff\xfe\xed\xa0\x80",
    b"Bearer " + KEYS["bob"].encode(),  # another user: must neither see nor touch alice's data
)


class FuzzedHub:
    """A real hub process on a database of its own, alice's two memories in it. `sound()`
    replaces both with fresh ones when a test left alice unable to list, feed or pull."""

    def __init__(self, pg: PgCluster) -> None:
        self.pg = pg
        self.server, self.client, self.memory_id = self._start()
        self.document = self._get("/openapi.json").json()

    def _start(self) -> tuple[HubServer, httpx.Client, str]:
        name = f"hub_fuzz_{os.getpid()}_{secrets.token_hex(4)}"
        dsn = asyncio.run(create_database(self.pg, name))
        # The fuzz sends thousands of bad keys and writes from one address: the hub's throttle
        # and rate quota (tested in tests/hub/test_limits.py) would refuse its own checks.
        server = HubServer(
            hub_env(dsn, HUB_AUTH_FAILURES_PER_MINUTE="0", HUB_USER_OPS_PER_MINUTE="0")
        )
        migrated = server.migrate()
        assert migrated.returncode == 0, migrated.stderr
        server.start()
        client = server.client(KEYS["alice"])
        created = [
            client.post("/api/memories", json={"content": text, "tags": ["seed"]}).json()["uuid"]
            for text in ("The staging cluster runs in eu-west-1", "I prefer Svelte")
        ]
        # A bare client: each request carries alice's key unless the probe says otherwise.
        bare = httpx.Client(base_url=server.url, timeout=60)
        server.clients.append(bare)
        return server, bare, created[0]

    def sound(self) -> FuzzedHub:
        paths = ("/api/memories", "/api/memories/sync", f"{sync.PULL_PATH}?after=0")
        try:
            ok = all(self._get(path).status_code == 200 for path in paths)
        except httpx.TransportError:
            ok = False
        if not ok:
            self.close()
            self.server, self.client, self.memory_id = self._start()
        return self

    def close(self) -> None:
        self.server.stop()
        shutil.rmtree(self.server.log.parent, ignore_errors=True)

    def _get(self, path: str) -> httpx.Response:
        return self.client.get(path, headers={"authorization": f"Bearer {KEYS['alice']}"})

    def operation(self, route: str) -> Operation:
        values = {"id": self.memory_id, "user": "bob", "dst": self.memory_id, "type": "see-also"}
        return documented_operation(self.document, route, values, VALID_BODIES.get(route))

    def send(self, probe: Probe) -> Answer:
        return send(self.client, probe, {"authorization": f"Bearer {KEYS['alice']}"})

    def snapshot(self) -> tuple[Any, ...]:
        """Alice's op log head, her memories (as listed and as fed) and her stats."""
        answers = [
            self._get(path)
            for path in (
                f"{sync.PULL_PATH}?after=0&limit=1000",
                "/api/memories?limit=10000",
                "/api/memories/sync",
                "/api/stats",
            )
        ]
        for answer in answers:
            assert answer.status_code == 200, f"{answer.url} answered {answer.status_code}"
        pulled, listed, fed, stats = (a.json() for a in answers)
        fed.pop("server_time")
        return pulled["ops"], pulled["head_seq"], listed, fed, stats


@pytest.fixture(scope="module")
def fuzzed(pg: PgCluster) -> Iterator[FuzzedHub]:
    with closing(FuzzedHub(pg)) as target:
        yield target


def test_the_served_document_lists_the_fuzzed_routes(fuzzed: FuzzedHub) -> None:
    served = fuzzed.document["paths"]
    assert sorted(f"{m.upper()} {p}" for p, ops in served.items() for m in ops) == ROUTES
    assert served == DOCUMENT["paths"]


GRID = grid(ROUTES, (*KINDS, "auth"), HUB_DEFECTS)


@pytest.mark.parametrize(("route", "kind"), GRID)
def test_hostile_requests_get_a_clean_answer(fuzzed: FuzzedHub, route: str, kind: str) -> None:
    target = fuzzed.sound()
    op = target.operation(route)
    if kind == "auth":
        fuzz(target, op, kind, _with_authorization(op))
    else:
        fuzz(target, op, kind)


def _with_authorization(op: Operation) -> st.SearchStrategy[Probe]:
    valid = valid_probe(op)
    return st.sampled_from(AUTHORIZATIONS).map(
        lambda value: Probe(
            valid.method, valid.url, valid.body, headers=(("authorization", value),)
        )
    )
