"""The daemon's link to its hub for the sharing routes: each request is sent on as it came,
and the hub's answer, or its error, comes back unchanged (memoryd.remote.errors).

Sharing lives on the hub only (shares are between users, a daemon serves one), so a daemon
without a hub (local mode) answers 409 `no_hub` saying what to set.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from memory_core.config import Settings
from memory_core.errors import HubUnreachable, NoHub
from memoryd.remote.errors import answer

NO_HUB = (
    "sharing needs a hub, and this daemon has none (local mode: MEMORY_API_KEY is not set). "
    "Set MEMORY_API_URL and MEMORY_API_KEY to a memory-hub to share memories with other users"
)


class HubForwarder:
    def __init__(
        self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.hub_url = settings.api_url
        self.timeout = settings.hub_timeout
        self.client: httpx.AsyncClient | None = None
        if settings.mode != "local" and settings.api_key is not None:
            self.client = httpx.AsyncClient(
                base_url=settings.api_url,
                headers={"Authorization": f"Bearer {settings.api_key.get_secret_value()}"},
                timeout=httpx.Timeout(settings.hub_timeout),
                transport=transport,
            )

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def send(self, method: str, path: str, json: Any = None) -> Any:
        """The hub's JSON answer to one request; its 4xx as the same error."""
        if self.client is None:
            raise NoHub(NO_HUB)
        try:
            response = await self.client.request(method, path, json=json)
        except httpx.TransportError as exc:
            # Every sharing request is idempotent (an upsert, a delete or a read): repeating
            # one whose answer was lost is harmless, so the message may say "try again".
            raise HubUnreachable(
                f"the hub at {self.hub_url} did not answer ({type(exc).__name__}); sharing "
                "goes through the hub: try again when it is reachable"
            ) from None
        return answer(response, self.hub_url)


@contextlib.asynccontextmanager
async def forwarder(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[HubForwarder]:
    found = HubForwarder(settings, transport)
    try:
        yield found
    finally:
        await found.aclose()
