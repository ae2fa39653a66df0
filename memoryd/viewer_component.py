"""The memory viewer inside the daemon: started on demand by POST /api/viewer (what `memory
ui` sends), served by uvicorn on 127.0.0.1 only, in this process's event loop.

The viewer reaches memories the way every client does: over this daemon's own Unix socket.
The component is owned by the daemon's lifespan (`viewer_owned`, a field of `Components`): once
started it serves until the lifespan ends, which stops it and shuts the listener down. Which
port it took is only known to the daemon, so `memory ui` asks again (and gets a fresh one-time
link) rather than remembering it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import logging
import socket
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import httpx
import uvicorn
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from memory_core.clock import Clock
from memory_core.errors import Conflict, Unavailable
from memory_core.http.bodies import read_json, validate
from memory_core.http.routing import endpoint
from memory_viewer import Viewer, daemon_viewer
from memoryd.api.components import Components, components
from memoryd.service.activation import server_config
from memoryd.tasks import cancel_and_wait

log = logging.getLogger("memoryd")

HOST = "127.0.0.1"  # never another interface: the viewer is for this machine's user


class ViewerIn(BaseModel):
    """POST /api/viewer: the port to serve on; none (or 0) takes a free one."""

    port: int | None = Field(default=None, ge=0, le=65535)


class _ViewerServer(uvicorn.Server):
    """uvicorn without its signal handlers: the daemon's own server owns SIGTERM/SIGINT."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


def bind_loopback(port: int) -> socket.socket:
    # IPPROTO_TCP, not the default 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets
    # whose proto says TCP; with Nagle on, each answer waited ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise Conflict(f"port {port} on {HOST} is in use; choose another (or none)") from None
        raise
    return sock


class ViewerComponent:
    def __init__(self, socket_path: Path, clock: Clock) -> None:
        self._socket_path = socket_path
        self._clock = clock
        self._lock = asyncio.Lock()
        self._viewer: Viewer | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def ensure(self, port: int | None) -> bool:
        """Serve the viewer (on `port`, else a free one); True when it was started now."""
        async with self._lock:
            if self.running:
                if port and port != self.port:
                    raise Conflict(
                        f"the viewer already runs on http://{HOST}:{self.port}; "
                        "restart memoryd to move it to another port"
                    )
                return False
            sock = bind_loopback(port or 0)
            self.port = int(sock.getsockname()[1])
            client = httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(uds=str(self._socket_path)),
                base_url="http://memoryd",
                timeout=30,
            )
            self._viewer = daemon_viewer(client, self.port, self._clock)
            config = server_config(self._viewer.app, lifespan="off", timeout_graceful_shutdown=2)
            server = _ViewerServer(config)
            self._task = asyncio.create_task(self._serve(server, sock, client))
            ready = asyncio.create_task(server.ready.wait())
            await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
            ready.cancel()
            if self._task.done():
                self._task.result()  # it failed to start: say why
            log.info("memory viewer on http://%s:%d", HOST, self.port)
            return True

    async def close(self) -> None:
        """Stop serving (the daemon is stopping): the listener and its connections close."""
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def login_url(self) -> str:
        assert self._viewer is not None
        return f"http://{HOST}:{self.port}{self._viewer.login_path()}"

    async def _serve(
        self, server: _ViewerServer, sock: socket.socket, client: httpx.AsyncClient
    ) -> None:
        try:
            await server.serve(sockets=[sock])
        except asyncio.CancelledError:
            # The daemon's loop is ending: close the listener and the open connections.
            server.should_exit = True
            if server.started:
                await server.shutdown(sockets=[sock])
            raise
        finally:
            sock.close()
            await client.aclose()


def _component(request: Request) -> ViewerComponent:
    found = components(request).viewer
    if found is None:
        raise Unavailable("the viewer is not part of this daemon")
    return found


@contextlib.asynccontextmanager
async def viewer_owned(found: Components, clock: Clock) -> AsyncIterator[Components]:
    """The lifespan's components with the viewer component added; it stops with them."""
    viewer = ViewerComponent(found.settings.socket_path, clock)
    try:
        yield dataclasses.replace(found, viewer=viewer)
    finally:
        await viewer.close()


async def start_viewer(request: Request) -> Response:
    """Start (or reuse) the memory viewer on 127.0.0.1 and get a one-time link to it."""
    # The body is optional: `{}` or nothing at all takes a free port.
    body = validate(ViewerIn, await read_json(request) if await request.body() else {})
    component = _component(request)
    started = await component.ensure(body.port)
    return JSONResponse({"url": component.login_url(), "port": component.port, "started": started})


VIEWER_ENDPOINTS = (endpoint("POST", "/api/viewer", start_viewer, also=(409,)),)
