"""A small synchronous client for the daemon's socket, used by the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from memory_core.errors import DaemonDown, RemoteError


class DaemonClient:
    def __init__(self, socket_path: Path, timeout: float = 30.0) -> None:
        self.socket_path = socket_path
        self._http = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(socket_path)),
            base_url="http://memoryd",
            timeout=timeout,
        )

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
        if response.status_code >= 400:
            try:
                err = response.json()["error"]
                raise RemoteError(response.status_code, err["code"], err["message"])
            except (ValueError, KeyError, TypeError):
                raise RemoteError(response.status_code, "http_error", response.text[:200]) from None
        return response.json()

    def stream_lines(self, path: str, params: dict[str, str]) -> Iterator[bytes]:
        try:
            with self._http.stream("GET", path, params=params) as response:
                if response.status_code >= 400:
                    response.read()
                    err = response.json().get("error", {})
                    raise RemoteError(
                        response.status_code, err.get("code", "?"), err.get("message", "")
                    )
                yield from response.iter_lines()  # type: ignore[misc]
        except (httpx.ConnectError, FileNotFoundError, ConnectionRefusedError):
            raise self._down() from None
