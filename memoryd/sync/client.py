"""The hub's sync endpoints over httpx. The transport is injected (tests wrap the hub's ASGI
app in a fault-injecting transport); errors come back as two kinds of the one error tree:
HubUnreachable (transient: try again later) and HubRefused (the hub answered no, with a code
from the wire module and the ops at fault)."""

from __future__ import annotations

from typing import TypeVar

import httpx
from pydantic import ValidationError

from memory_core.errors import HubUnreachable, RemoteError
from memory_core.wire.sync import (
    DEFAULT_PULL_LIMIT,
    PULL_PATH,
    PUSH_PATH,
    PullResponse,
    PushRequest,
    PushResponse,
    SyncError,
    SyncErrorBody,
)

T = TypeVar("T", PushResponse, PullResponse)


# A page is up to 4 MiB (5,000 ops): a busy hub, queueing it behind the same user's other
# pushes (one lock per user), may take well over 15 s to answer. A push that times out is not
# lost (the retry is acked `duplicate`) but its work is done twice, so the answer is awaited
# longer than a connection.
ANSWER_TIMEOUT = httpx.Timeout(15.0, read=120.0)


class HubRefused(RemoteError):
    """A 4xx from the hub: retrying the same request will not help. `error` is the whole
    answer (the ops at fault, the hub's clock)."""

    def __init__(self, status: int, error: SyncErrorBody) -> None:
        super().__init__(status, error.code, error.message)
        self.error = error


class SyncClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = ANSWER_TIMEOUT,
    ) -> None:
        self.base_url = base_url
        self._http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=timeout,
            headers={"authorization": f"Bearer {api_key}"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._http.send(request)
        except httpx.HTTPError as exc:
            raise HubUnreachable(f"hub unreachable: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise HubUnreachable(f"hub answered {response.status_code}")
        if response.status_code >= 400:
            try:
                error = SyncError.model_validate_json(response.content).error
            except ValidationError:
                error = SyncErrorBody(code=f"http_{response.status_code}", message=response.text)
            raise HubRefused(response.status_code, error)
        return response

    async def push(self, request: PushRequest) -> PushResponse:
        return await self.push_encoded(request.model_dump_json().encode())

    async def push_encoded(self, body: bytes) -> PushResponse:
        """A push whose body is already encoded (`memory_core.wire.sync.push_body`)."""
        response = await self._send(
            self._http.build_request(
                "POST", PUSH_PATH, content=body, headers={"content-type": "application/json"}
            )
        )
        return _parse(PushResponse, response)

    async def pull(
        self, after: int, limit: int = DEFAULT_PULL_LIMIT, own: tuple[str, int] | None = None
    ) -> PullResponse:
        """A page after `after`. `own`: this replica's id and next replica_seq; hubs since
        issue 20 leave out the ops it pushed below that (it holds them already)."""
        params: dict[str, str | int] = {"after": after, "limit": limit}
        if own is not None:
            params.update(replica_id=own[0], replica_seq_below=own[1])
        response = await self._send(self._http.build_request("GET", PULL_PATH, params=params))
        return _parse(PullResponse, response)


def _parse(model: type[T], response: httpx.Response) -> T:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise HubUnreachable(f"hub sent a malformed answer: {exc.errors()[0]['msg']}") from None
