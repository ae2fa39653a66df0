"""Property-based fuzz of every route in the daemon's OpenAPI document (GET /openapi.json of a
real `memoryd serve`): for each route and each kind of attack (tests.adversarial.probes.KINDS),
a fixed set of hostile requests, each answered without a 5xx or a traceback, every error in the
one JSON envelope, and the export unchanged by every request the daemon refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest
from hypothesis import reject

from memory_core.handover import is_newer
from memory_core.http.openapi import openapi_document
from memory_core.version import PROTOCOL, __version__
from memory_core.wire import rest
from memoryd.api.app import ENDPOINTS
from tests.adversarial.daemons import OFFLINE_LEARNING, LoggedDaemon, start_logged
from tests.adversarial.fuzz import Answer, fuzz, grid, send
from tests.adversarial.probes import KINDS, Operation, Probe, documented_operation, example_of
from tests.adversarial.xfails import DAEMON_DEFECTS

# The parametrization comes from the same table the daemon serves its document from; the first
# test checks that the served document lists exactly these routes.
DOCUMENT = openapi_document(ENDPOINTS, "memoryd", __version__)
ROUTES = sorted(
    f"{method.upper()} {path}" for path, ops in DOCUMENT["paths"].items() for method in ops
)

# Routes that read a body their entry does not declare (they parse it themselves).
UNDECLARED_BODIES: dict[str, Any] = {
    "POST /api/memories/import": [example_of(rest.ImportItem.model_json_schema(), {})],
    "POST /api/admin/handover": {"version": "0.0.1", "protocol": PROTOCOL},
}


class FuzzedDaemon:
    """A real daemon seeded with three memories, and its served document. `sound()` replaces
    it with a fresh one when a test left it unable to list or export: one poisoned store must
    not fail every test after it."""

    def __init__(self) -> None:
        self.daemon, self.client, self.ids, self.document = self._start()

    def _start(self) -> tuple[LoggedDaemon, httpx.Client, dict[str, str], dict[str, Any]]:
        daemon = start_logged(**OFFLINE_LEARNING)
        client = daemon.client(timeout=60)
        seeds = [
            {"content": "The staging cluster runs in eu-west-1", "tags": ["ops"], "project": "p"},
            {"content": "I prefer Svelte for new frontends", "category": "preferences"},
            {"content": "the deploy passphrase is kept here", "force_sensitive": True},
        ]
        ids = [client.post("/api/memories", json=seed).json()["id"] for seed in seeds]
        document = client.get("/openapi.json").json()
        # Path values: a memory, an auto-learn entry, a share's user, a link's target and type.
        path_values = {
            "id": ids[0],
            "entry": "1",
            "user": "bob",
            "dst": ids[1],
            "type": "see-also",
        }
        return daemon, client, path_values, document

    def sound(self) -> FuzzedDaemon:
        try:
            ok = all(
                self.client.get(path).status_code == 200
                for path in ("/api/memories", "/api/memories/export", "/health")
            )
        except httpx.TransportError:
            ok = False
        if not ok:
            self.daemon.discard()
            self.daemon, self.client, self.ids, self.document = self._start()
        return self

    def operation(self, route: str) -> Operation:
        return documented_operation(self.document, route, self.ids, UNDECLARED_BODIES.get(route))

    def send(self, probe: Probe) -> Answer:
        if _hands_over(probe):
            reject()  # a newer daemon asking is obeyed: the daemon would exit, as it should
        return send(self.client, probe)

    def snapshot(self) -> str:
        export = self.client.get("/api/memories/export")
        assert export.status_code == 200, f"export answered {export.status_code}"
        for line in export.text.splitlines():
            json.loads(line)  # a cut or broken export fails here
        return export.text

    def close(self) -> None:
        self.daemon.discard()


def _hands_over(probe: Probe) -> bool:
    if not probe.url.startswith("/api/admin/handover") or probe.body is None:
        return False
    try:
        body = json.loads(probe.body)
        return is_newer(str(body["version"]), int(body["protocol"]), __version__, PROTOCOL)
    except Exception:  # not a request the daemon could obey
        return False


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[FuzzedDaemon]:
    with closing(FuzzedDaemon()) as target:
        yield target


def test_the_served_document_lists_the_fuzzed_routes(fuzzed: FuzzedDaemon) -> None:
    served = fuzzed.document["paths"]
    assert sorted(f"{m.upper()} {p}" for p, ops in served.items() for m in ops) == ROUTES
    assert served == DOCUMENT["paths"]


GRID = grid(ROUTES, KINDS, DAEMON_DEFECTS)


@pytest.mark.parametrize(("route", "kind"), GRID)
def test_hostile_requests_get_a_clean_answer(fuzzed: FuzzedDaemon, route: str, kind: str) -> None:
    target = fuzzed.sound()
    fuzz(target, target.operation(route), kind)
