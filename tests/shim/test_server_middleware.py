"""The shim's server drops the SDK's OpenTelemetry middleware (a span per message that nothing
in the shim's process exports) and keeps the rest of the SDK's chain."""

from __future__ import annotations

from mcp.server import MCPServer

from mcp_shim.server import OTEL_MIDDLEWARE, create_server
from mcp_shim.tool_base import ShimState


def test_only_the_opentelemetry_middleware_is_dropped() -> None:
    default = [type(m) for m in MCPServer("sdk-default").middleware]
    ours = [type(m) for m in create_server(lambda: ShimState(None, None)).middleware]
    # Found by its name: should the SDK rename it, this fails instead of keeping it silently.
    assert len(ours) == len(default) - 1
    assert ours == [kind for kind in default if kind.__name__ != OTEL_MIDDLEWARE]
