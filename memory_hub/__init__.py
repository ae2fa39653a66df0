"""memory_hub: the central server (PostgreSQL) for several machines or a team."""
