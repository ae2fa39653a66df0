"""The shim's one HTTP client to memoryd's socket, restarting the daemon when it is gone.

Every failure becomes a `ToolError` whose text the model reads: the daemon's own message for a
4xx, what to run when the daemon cannot be reached. A tool call waits at most `start_budget`
(default 3 s) for a daemon to start and `call_budget` (start budget + 2 s) in all.

A write whose answer does not come in time may still land (it was queued in the daemon), so
its error says so instead of "try again", and why repeating it is harmless: the daemon merges
a store of the same content into the existing memory and answers with its id. (The daemon
makes the id, so the shim cannot name it; sending a key of its own would change the API for
what a look-up by content, which the repeat is, already gives.)
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp.server.mcpserver.exceptions import ToolError

from mcp_shim.autostart import DaemonUnavailable, ensure_daemon, how_to_start
from memory_core.daemon_client import async_client, error_body

log = logging.getLogger("mcp_shim.link")

START_BUDGET = 3.0


@dataclass
class DaemonLink:
    socket_path: Path
    home: Path
    python: str
    env: dict[str, str] | None = None
    start_budget: float = START_BUDGET
    _http: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        self._http = async_client(
            self.socket_path, httpx.Timeout(self.call_budget - 0.5, connect=1.0)
        )

    @property
    def call_budget(self) -> float:
        return self.start_budget + 2.0

    async def aclose(self) -> None:
        await self._http.aclose()

    def ensure_blocking(self, budget: float | None = None) -> dict[str, Any]:
        """The daemon's /health, starting it if needed."""
        return ensure_daemon(
            self.socket_path,
            self.home,
            python=self.python,
            env=self.env,
            timeout=self.start_budget if budget is None else budget,
        )

    async def ensure(self, budget: float | None = None) -> dict[str, Any]:
        """`ensure_blocking` on a worker thread, abandoned (not waited for) if cancelled."""
        return await anyio.to_thread.run_sync(self.ensure_blocking, budget, abandon_on_cancel=True)

    async def request(
        self, method: str, path: str, *, write: bool | None = None, **kwargs: Any
    ) -> Any:
        """Send one request; if no daemon answers, start memoryd and send it once more.
        `write` says whether it changes data; by default, whether its method is not GET or
        POST (a POST is a read for recall, get and secret: their callers say otherwise)."""
        if write is None:
            write = method not in ("GET", "POST")
        started = time.monotonic()
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            if not isinstance(exc, httpx.ConnectTimeout):
                raise self._no_answer(write) from None
            response = await self._restart_and_resend(started, method, path, write, **kwargs)
        except httpx.TransportError:
            # Nobody listening, or a kept-alive connection to a daemon that has died since.
            # Sending again is safe: the daemon answers a repeated store as a duplicate.
            response = await self._restart_and_resend(started, method, path, write, **kwargs)
        return _answer(response)

    def _no_answer(self, write: bool) -> ToolError:
        waited = (
            f"memoryd on {self.socket_path} did not answer within {self.call_budget - 0.5:.1f} s"
        )
        if write:
            return ToolError(
                f"{waited}, so this change may have been stored, or may still be. Check with "
                "memory_recall or memory_list before repeating it; storing the same content "
                "again is merged with the existing memory, never stored twice."
            )
        return ToolError(f"{waited}; try again. {how_to_start(self.socket_path, self.home)}")

    async def _restart_and_resend(
        self, started: float, method: str, path: str, write: bool, **kwargs: Any
    ) -> httpx.Response:
        log.info("memoryd not reachable on %s; ensuring it runs", self.socket_path)
        try:
            elapsed = time.monotonic() - started
            await self.ensure(max(0.5, min(self.start_budget, self.call_budget - elapsed)))
        except DaemonUnavailable as exc:
            raise ToolError(str(exc)) from None
        remaining = self.call_budget - (time.monotonic() - started)
        return await self._send_again(method, path, max(remaining, 0.5), write, **kwargs)

    async def _send_again(
        self, method: str, path: str, budget: float, write: bool, **kwargs: Any
    ) -> httpx.Response:
        try:
            return await self._http.request(method, path, timeout=budget, **kwargs)
        except httpx.TransportError as exc:
            if write and isinstance(exc, httpx.ReadTimeout):  # it was sent: it may land
                raise self._no_answer(write) from None
            raise ToolError(
                f"memoryd was (re)started but the request failed ({type(exc).__name__}). "
                f"{how_to_start(self.socket_path, self.home)}"
            ) from None


def _answer(response: httpx.Response) -> Any:
    if response.status_code < 400:
        return response.json()
    error = error_body(response)
    if error is None:
        raise ToolError(f"memoryd answered HTTP {response.status_code}: {response.text[:200]}")
    raise ToolError(f"{error.message} ({error.code})")
