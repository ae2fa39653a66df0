"""Command-line entry points: `memoryd` (the daemon) and `memory` (for humans)."""
