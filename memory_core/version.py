"""The release and the daemon protocol, shared by every part of the distribution."""

__version__ = "0.1.0"

# Bumped whenever the daemon's HTTP API changes incompatibly; shims and hooks compare it.
PROTOCOL = 1
