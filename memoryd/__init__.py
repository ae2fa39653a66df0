"""memoryd: persistent memory for Claude Code, one daemon per user and machine."""

__version__ = "0.1.0"

# Bumped whenever the daemon's HTTP API changes incompatibly; shims and hooks compare it.
PROTOCOL = 1
