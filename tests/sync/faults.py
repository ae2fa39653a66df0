"""A transport that injects faults between a replica and the hub."""

from __future__ import annotations

import httpx

FAULTS = ("none", "drop_request", "drop_response", "duplicate", "timeout")


class FaultyTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; `mode` says what goes wrong with the next requests."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.mode = "none"
        self.up = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.up or self.mode == "drop_request":
            raise httpx.ConnectError("injected: request dropped", request=request)
        if self.mode == "timeout":
            raise httpx.ReadTimeout("injected: timeout", request=request)
        if self.mode == "duplicate":
            await request.aread()
            first = await self.inner.handle_async_request(request)
            await first.aread()
            await first.aclose()
        response = await self.inner.handle_async_request(request)
        if self.mode == "drop_response":
            await response.aread()
            await response.aclose()
            raise httpx.ReadError("injected: response lost after commit", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
