"""Prometheus text metrics, kept in process. Labels are endpoint names, statuses and error
codes only: never a path with an id, never user content."""

from __future__ import annotations

import time
from collections import defaultdict

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memory_core.http.middleware import HttpMiddleware

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.errors: dict[str, int] = defaultdict(int)
        self.ops_pushed: dict[str, int] = defaultdict(int)
        self.ops_pulled = 0

    def count_error(self, request: object, code: str) -> None:
        self.errors[code] += 1

    def observe(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        self.requests[(endpoint, method, status)] += 1
        counts = self.latency[endpoint]
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                counts[i] += 1
        counts[-1] += 1
        self.latency_sum[endpoint] += seconds

    def render(self) -> str:
        lines = [
            "# HELP memory_hub_requests_total HTTP requests by endpoint, method and status.",
            "# TYPE memory_hub_requests_total counter",
        ]
        for (endpoint, method, status), n in sorted(self.requests.items()):
            lines.append(
                f'memory_hub_requests_total{{endpoint="{endpoint}",method="{method}",'
                f'status="{status}"}} {n}'
            )
        lines += [
            "# HELP memory_hub_request_seconds Request latency by endpoint.",
            "# TYPE memory_hub_request_seconds histogram",
        ]
        for endpoint, counts in sorted(self.latency.items()):
            for bound, n in zip(BUCKETS, counts, strict=False):
                lines.append(
                    f'memory_hub_request_seconds_bucket{{endpoint="{endpoint}",le="{bound}"}} {n}'
                )
            lines.append(
                f'memory_hub_request_seconds_bucket{{endpoint="{endpoint}",le="+Inf"}} {counts[-1]}'
            )
            lines.append(
                f'memory_hub_request_seconds_sum{{endpoint="{endpoint}"}} '
                f"{self.latency_sum[endpoint]:.6f}"
            )
            lines.append(f'memory_hub_request_seconds_count{{endpoint="{endpoint}"}} {counts[-1]}')
        lines += [
            "# HELP memory_hub_errors_total Error responses by code.",
            "# TYPE memory_hub_errors_total counter",
        ]
        lines += [
            f'memory_hub_errors_total{{code="{c}"}} {n}' for c, n in sorted(self.errors.items())
        ]
        lines += [
            "# HELP memory_hub_ops_pushed_total Pushed ops by acknowledgement.",
            "# TYPE memory_hub_ops_pushed_total counter",
        ]
        lines += [
            f'memory_hub_ops_pushed_total{{status="{s}"}} {n}'
            for s, n in sorted(self.ops_pushed.items())
        ]
        lines += [
            "# HELP memory_hub_ops_pulled_total Ops delivered by pulls.",
            "# TYPE memory_hub_ops_pulled_total counter",
            f"memory_hub_ops_pulled_total {self.ops_pulled}",
        ]
        return "\n".join(lines) + "\n"


class MetricsMiddleware(HttpMiddleware):
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        super().__init__(app)
        self.metrics = metrics

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            endpoint = getattr(scope.get("endpoint"), "__name__", "unmatched")
            self.metrics.observe(endpoint, scope["method"], status, time.perf_counter() - start)
