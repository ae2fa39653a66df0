"""What every page handler needs: the API as the current session sees it."""

from __future__ import annotations

import httpx
from starlette.requests import Request

from memory_viewer.curation_api import CurationApi
from memory_viewer.guard import session_of


def api(request: Request) -> CurationApi:
    client: httpx.AsyncClient = request.app.state.api_client
    return CurationApi(client, session_of(request).api_headers)
