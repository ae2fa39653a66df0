"""The fuzz loop: hostile probes (tests.adversarial.probes) sent to a live server, a fixed and
reproducible number of them per route and kind of attack, and what every answer must be: no
5xx, no traceback, every error the one JSON envelope `{"error": {"code", "message"}}`, the
connection kept, and stored data unchanged by a request that was refused."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.strategies import SearchStrategy

from tests.adversarial.probes import Operation, Probe, probes

# Examples per route and kind: ~400 route-and-kind pairs in all keep the two fuzz modules
# within about two minutes on 2 busy cores. derandomize: CI tries the same requests every run.
EXAMPLES = 8
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=20),  # one request and one snapshot; more means a hang
    # No shrinking: the first hostile request that breaks a route is reported as it was sent,
    # and a known defect (an xfail) costs its examples and nothing more.
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
)
TRACEBACK = b"Traceback (most recent call last)"


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer (the connection failed)
    content_type: str
    body: bytes

    def show(self) -> str:
        return f"{self.status} {self.body[:500]!r}"


class Target(Protocol):
    def send(self, probe: Probe) -> Answer: ...

    def snapshot(self) -> Any: ...


def send(client: httpx.Client, probe: Probe, headers: dict[str, str] | None = None) -> Answer:
    """`probe` sent with `headers`, the probe's own replacing them; never raises."""
    # A connection of its own: after a 500 the server drops the connection, and the next
    # request must not fail for that.
    sent: dict[str, str | bytes] = {"connection": "close", **(headers or {})}
    if probe.content_type is not None:
        sent["content-type"] = probe.content_type
    for name, value in probe.headers:
        sent.pop(name, None)
        if value is not None:
            sent[name] = value
    try:
        response = client.request(probe.method, probe.url, content=probe.body, headers=sent)
    except httpx.TransportError as exc:
        return Answer(0, "", f"{type(exc).__name__}: {exc}".encode())
    return Answer(response.status_code, response.headers.get("content-type", ""), response.content)


def problems(answer: Answer) -> list[str]:
    """What is wrong with an answer to a hostile request; empty when it is a clean one."""
    if answer.status == 0:
        return [f"no answer: {answer.body.decode()}"]
    found = []
    if answer.status >= 500:
        found.append(f"status {answer.status}")
    if TRACEBACK in answer.body or b'File "/' in answer.body:
        found.append("a traceback in the body")
    if answer.status >= 400:
        found.extend(_envelope_problems(answer.body))
    elif answer.content_type.startswith("application/json"):
        try:
            json.loads(answer.body)
        except ValueError:
            found.append("a success whose JSON body does not parse")
    return found


def _envelope_problems(body: bytes) -> list[str]:
    try:
        data = json.loads(body)
    except ValueError:
        return ["an error that is not JSON"]
    if not isinstance(data, dict) or set(data) != {"error"} or not isinstance(data["error"], dict):
        return ['an error not shaped {"error": {...}}']
    error = data["error"]
    code, message = error.get("code"), error.get("message")
    if not (isinstance(code, str) and code and isinstance(message, str) and message):
        return ["an error without a code and a message"]
    return []


def fuzz(
    target: Target, op: Operation, kind: str, strategy: SearchStrategy[Probe] | None = None
) -> None:
    """EXAMPLES hostile requests of `kind` to `op` (or those `strategy` draws); fails on the
    first bad answer, naming the request and the answer."""
    state = {"before": target.snapshot()}

    @FUZZ_SETTINGS
    @given(probes(op, kind) if strategy is None else strategy)
    def attack(probe: Probe) -> None:
        answer = target.send(probe)
        found = problems(answer)
        assert not found, f"{probe.describe()}\n  -> {answer.show()}\n  {'; '.join(found)}"
        try:
            after = target.snapshot()
        except (AssertionError, ValueError, httpx.HTTPError) as exc:
            raise AssertionError(
                f"after {probe.describe()} stored data could not be read: {exc!r}"
            ) from None
        if 400 <= answer.status < 500:
            assert after == state["before"], f"refused, yet stored data changed: {probe.describe()}"
        state["before"] = after

    attack()


def grid(
    routes: Iterable[str], kinds: Iterable[str], defects: Mapping[tuple[str, str], str]
) -> list[Any]:
    """The test parameters: every route with every kind of attack that applies to it ("id"
    only where the path has a parameter), each known defect marked xfail(strict)."""
    return [
        pytest.param(
            route,
            kind,
            id=f"{route} {kind}",
            marks=[pytest.mark.xfail(strict=True, reason=defects[(route, kind)])]
            if (route, kind) in defects
            else [],
        )
        for route in routes
        for kind in kinds
        if kind != "id" or "{" in route
    ]
