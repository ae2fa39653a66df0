"""What every page handler needs: the API as the current session sees it."""

from __future__ import annotations

import httpx
from starlette.requests import Request

from memory_viewer.api import MemoryApi
from memory_viewer.guard import session_of


def api(request: Request) -> MemoryApi:
    client: httpx.AsyncClient = request.app.state.api_client
    return MemoryApi(client, session_of(request).api_headers)
