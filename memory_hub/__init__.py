"""memory_hub: the central server (PostgreSQL) for several machines or a team."""

__version__ = "0.1.0"
