"""HTTP-only mode: the daemon forwards memory operations to the hub's REST API."""
