"""A body over the limit is answered with a 413 the client can read: the server reads the rest of
a body up to DRAIN_LIMIT before it answers (memory_core/http/bodies.py). Refused as soon as its
length was known, a client still sending (the original project's urllib client does, for a
large store) got a reset connection instead of the answer."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

from memory_core.http.bodies import DRAIN_LIMIT
from tests.hubs import KEYS
from tests.support import HubServer


def test_a_body_over_the_limit_is_a_413_the_sending_client_reads(hub_server: HubServer) -> None:
    body = json.dumps({"content": "x", "category": "c" * (DRAIN_LIMIT - 4096)}).encode()
    where = urlsplit(hub_server.url)
    head = (
        f"POST /api/memories HTTP/1.1\r\nHost: {where.netloc}\r\n"
        f"Authorization: Bearer {KEYS['alice']}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((where.hostname, where.port), timeout=60) as conn:
        conn.sendall(head + body)  # a reset connection fails here, or in the reads below
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"413", status_line
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["error"]["code"] == "payload_too_large"
