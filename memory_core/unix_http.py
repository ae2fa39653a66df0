"""http.client over memoryd's Unix socket. Stdlib-only: the shim's autostart and hooks use it."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from typing import Any


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over memoryd's Unix socket (stdlib only: the shim and hooks use it too)."""

    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("memoryd", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self._path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


def probe_health(socket_path: Path, timeout: float = 1.0) -> dict[str, Any] | None:
    """The daemon's /health answer, or None when nothing healthy answers."""
    conn = UnixHTTPConnection(socket_path, timeout)
    try:
        conn.request("GET", "/health")
        response = conn.getresponse()
        body = json.loads(response.read())
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()
    ok = response.status == 200 and isinstance(body, dict) and body.get("status") == "ok"
    return body if ok else None
