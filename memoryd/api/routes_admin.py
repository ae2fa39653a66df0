"""Admin endpoints: POST /api/admin/handover, the daemon's side of a version upgrade."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memory_core.errors import BadRequest, Conflict, Unavailable
from memory_core.handover import is_newer
from memory_core.http.routing import endpoint
from memory_core.version import PROTOCOL, __version__

log = logging.getLogger("memoryd")


async def handover(request: Request) -> Response:
    """Exit in favour of a newer memoryd.

    Stop accepting, finish in-flight requests, close the store and release the lock. Only a
    strictly newer requester is obeyed."""
    try:
        body: Any = json.loads(await request.body() or b"{}")
        version = str(body["version"])
        protocol = int(body["protocol"])
        newer = is_newer(version, protocol, __version__, PROTOCOL)
    # RecursionError: nested past Python's limit; OverflowError: int(1e400); ValueError also
    # covers a version or protocol of more than 4,300 digits.
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
        raise BadRequest(
            'expected {"version": "<x.y.z>", "protocol": <int>} of the newer memoryd'
        ) from None
    if not newer:
        raise Conflict(
            f"this memoryd is {__version__} (protocol {PROTOCOL}); it only hands over to a "
            f"newer one, not {version[:40]!r} (protocol {protocol})"
        )
    request_exit = getattr(request.app.state, "request_exit", None)
    if request_exit is None:
        raise Unavailable("this memoryd was not started by `memoryd serve`; it cannot hand over")
    log.info("handing over to memoryd %s (protocol %d)", version, protocol)
    # The exit is requested after this answer is sent, so the requester always gets it.
    return JSONResponse(
        {"status": "handing_over", "pid": os.getpid(), "version": __version__},
        status_code=202,
        background=BackgroundTask(request_exit, f"handover to memoryd {version}"),
    )


ENDPOINTS = (endpoint("POST", "/api/admin/handover", handover, status=202),)
