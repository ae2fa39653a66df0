"""The memory viewer: server-rendered pages over the memory API, for the daemon and the hub.

It reads and changes memories only through the HTTP API every client uses (an injected
`httpx.AsyncClient`), so its permissions are the API's. See docs/viewer.md.
"""

from memory_viewer.app import Viewer, daemon_viewer, hub_viewer

__all__ = ["Viewer", "daemon_viewer", "hub_viewer"]
