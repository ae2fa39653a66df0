"""The CLI's blocking client for the daemon's socket: no daemon is a `DaemonDown` that says how
to start one, an error answer a `RemoteError` (memory_core.daemon_client)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from memory_core.daemon_client import blocking_client, json_answer, remote_error
from memory_core.errors import DaemonDown


class DaemonClient:
    def __init__(self, socket_path: Path, timeout: float = 30.0) -> None:
        self.socket_path = socket_path
        self._http = blocking_client(socket_path, timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DaemonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _down(self) -> DaemonDown:
        return DaemonDown(
            f"memoryd is not running on {self.socket_path}. Start it with `memoryd serve` "
            "(or `make run` in a checkout, or `memoryd install-service` to keep it running)."
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except (httpx.ConnectError, FileNotFoundError, ConnectionRefusedError):
            raise self._down() from None
        except httpx.TimeoutException:
            raise DaemonDown(f"memoryd on {self.socket_path} did not answer in time") from None
        return json_answer(response)

    def stream_lines(self, path: str, params: dict[str, str]) -> Iterator[bytes]:
        try:
            with self._http.stream("GET", path, params=params) as response:
                if response.status_code >= 400:
                    response.read()
                    raise remote_error(response)
                yield from response.iter_lines()  # type: ignore[misc]
        except (httpx.ConnectError, FileNotFoundError, ConnectionRefusedError):
            raise self._down() from None
