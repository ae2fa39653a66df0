"""Sharing through the daemon: forwarded to the hub (memory_hub.sharing does the work)."""
